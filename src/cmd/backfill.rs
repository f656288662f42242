//! `isthmus backfill`: a backfill in this process, with a progress bar.

use isthmus::wiring;
use isthmus::{Config, Secrets};

use crate::BackfillWhat;

pub async fn backfill(config: Config, what: BackfillWhat) -> anyhow::Result<()> {
    use isthmus_engine::customers::backfill::{percentile, BackfillOptions};
    let BackfillWhat::Accounts {
        all,
        limit,
        shard,
        concurrency,
        json,
    } = what;
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    let (flows, salesforce) = wiring::customer_flows(&config, &secrets, store.clone())?;
    let allocation = wiring::allocation(&config, store.clone());
    let log = wiring::sync_log(&config, &secrets, store);
    let options = BackfillOptions {
        concurrency: concurrency.unwrap_or(config.customers.backfill_concurrency),
        all,
        shard,
        limit,
    };
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} accounts ({per_sec}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let report = flows
        .backfill_accounts(&options, &allocation, &log, &|p| {
            bar.set_length(p.total);
            bar.set_position(p.seen);
            bar.set_message(format!("created {} failed {}", p.created, p.failed));
        })
        .await?;
    bar.finish();
    allocation.publish(&salesforce).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let p = &report.progress;
    println!(
        "{} accounts in {:.1} s: {} created, {} updated, {} unchanged, {} conflicts, {} failed; {} ids written back",
        p.seen,
        report.elapsed_ms as f64 / 1000.0,
        p.created,
        p.updated,
        p.unchanged,
        p.conflicts,
        p.failed,
        p.written_back
    );
    println!(
        "per account: p50 {:.0} ms, p99 {:.0} ms",
        percentile(&report.latencies_ms, 50.0),
        percentile(&report.latencies_ms, 99.0)
    );
    for (id, why) in report.failures.iter().take(20) {
        println!("  failed {id}: {why}");
    }
    Ok(())
}

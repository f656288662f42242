//! `isthmus backfill`: accounts to NetSuite, or a catalog run, in this process, with a progress
//! bar.

use isthmus::wiring;
use isthmus::{Config, Secrets};

use crate::BackfillWhat;

pub async fn backfill(config: Config, what: BackfillWhat) -> anyhow::Result<()> {
    match what {
        BackfillWhat::Accounts {
            all,
            limit,
            shard,
            concurrency,
            json,
        } => accounts(config, all, limit, shard, concurrency, json).await,
        BackfillWhat::Catalog { full, limit, json } => catalog(config, full, limit, json).await,
    }
}

/// A shard's share of the run's `workers`: the configured concurrency is the whole run's, since
/// accounts in flight beyond what the NetSuite slots serve only wait for a slot (Little's law:
/// each account's time grows with the accounts in flight), so N shards of the full count would
/// make every account wait N times longer for the same throughput.
fn shard_workers(workers: usize, shard: Option<(u32, u32)>) -> usize {
    let shards = shard.map_or(1, |(_, n)| n.max(1) as usize);
    workers.div_ceil(shards).max(1)
}

async fn accounts(
    config: Config,
    all: bool,
    limit: Option<usize>,
    shard: Option<(u32, u32)>,
    concurrency: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    use isthmus_engine::customers::backfill::{percentile, BackfillOptions};
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    let (flows, salesforce) = wiring::customer_flows(&config, &secrets, store.clone())?;
    let allocation = wiring::allocation(&config, store.clone());
    let log = wiring::sync_log(&config, &secrets, store);
    let options = BackfillOptions {
        concurrency: concurrency
            .unwrap_or_else(|| shard_workers(config.customers.backfill_concurrency, shard)),
        all,
        shard,
        limit,
    };
    let bar = progress_bar("accounts", json)?;
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

/// A catalog run in this process (under the same one-run lock as the service's runs).
async fn catalog(
    config: Config,
    full: bool,
    limit: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    use isthmus_engine::catalog::{RunMode, RunOptions};
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    let flows = wiring::catalog::catalog_flows(&config, &secrets, store.clone())?;
    let allocation = wiring::allocation(&config, store.clone());
    let log = wiring::sync_log(&config, &secrets, store);
    let options = RunOptions {
        mode: if full { RunMode::Full } else { RunMode::Delta },
        limit,
    };
    let bar = progress_bar("items", json)?;
    let report = flows
        .run_catalog_exclusive(options, &allocation, &log, &|p| {
            bar.set_length(p.total);
            bar.set_position(p.seen);
            bar.set_message(format!(
                "created {} updated {} failed {}",
                p.created, p.updated, p.failed
            ));
        })
        .await?;
    bar.finish();
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let p = &report.progress;
    println!(
        "{} run: {} items in {:.1} s: {} created, {} updated, {} unchanged, {} deactivated, {} failed; {} prices written",
        report.mode.as_str(),
        p.seen,
        report.elapsed_ms as f64 / 1000.0,
        p.created,
        p.updated,
        p.unchanged,
        p.deactivated,
        p.failed,
        p.prices_written
    );
    if !report.cursor_saved {
        println!("the delta cursor did not move (a limit cut the run short, or an item failed)");
    }
    for (id, why) in report.failures.iter().take(20) {
        println!("  failed {id}: {why}");
    }
    Ok(())
}

/// A progress bar counting `what` (hidden when the answer is JSON).
fn progress_bar(what: &str, json: bool) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}) {{msg}}"
        ))?
        .progress_chars("=> "),
    );
    Ok(bar)
}

#[cfg(test)]
mod tests {
    use super::shard_workers;

    #[test]
    fn a_shard_takes_its_share_of_the_runs_workers() {
        assert_eq!(shard_workers(10, None), 10);
        assert_eq!(shard_workers(10, Some((0, 1))), 10);
        assert_eq!(shard_workers(10, Some((2, 3))), 4);
        assert_eq!(shard_workers(2, Some((0, 5))), 1, "at least one");
    }
}

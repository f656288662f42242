//! `isthmus reconcile [flow]`: compares both systems across the ID map in this process and
//! prints a table (or JSON); `--repair` re-syncs every listed drift from its owning side.

use std::sync::Arc;

use isthmus::wiring;
use isthmus::{Config, Secrets};
use isthmus_engine::reconcile::{self, Flow, ReconcileOptions, Reconciler, Report};

/// What `isthmus reconcile` was asked.
pub struct ReconcileArgs {
    pub flow: Option<String>,
    pub json: bool,
    pub repair: bool,
    pub max_items: usize,
}

/// The reconciler of `flow`, built from configuration.
fn reconciler(
    config: &Config,
    secrets: &Secrets,
    store: &Arc<dyn isthmus_store::Store>,
    flow: Flow,
) -> anyhow::Result<Arc<dyn Reconciler>> {
    let store = store.clone();
    Ok(match flow {
        Flow::Customers => Arc::new(wiring::customer_flows(config, secrets, store)?.0),
        Flow::Products => Arc::new(wiring::catalog::catalog_flows(config, secrets, store)?),
        Flow::Orders => Arc::new(wiring::orders::order_flows(
            config,
            secrets,
            store,
            &config.orders.customers_url,
        )?),
        Flow::Invoices => Arc::new(wiring::finance::finance_flows(config, secrets, store)?),
    })
}

/// Runs the reconciliation; exits non-zero when drifts remain (after repairs, if asked), so a
/// cron job or CI can alert on it.
pub async fn reconcile(config: Config, args: ReconcileArgs) -> anyhow::Result<()> {
    let flows = match &args.flow {
        Some(name) => vec![Flow::parse(name)?],
        None => Flow::ALL.to_vec(),
    };
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    let options = ReconcileOptions {
        max_items: args.max_items,
    };
    let mut reports: Vec<Report> = Vec::new();
    let mut repairs = Vec::new();
    for flow in flows {
        let reconciler = reconciler(&config, &secrets, &store, flow)?;
        let mut report =
            reconcile::run_and_keep(reconciler.as_ref(), store.as_ref(), flow, &options).await?;
        if args.repair && report.total() > 0 {
            let trace = isthmus_telemetry::TraceContext::new_root();
            for drift in &report.drifts {
                let outcome = match reconciler.repair(drift, &trace.trace_id).await {
                    Ok(result) => result.outcome.as_str().to_string(),
                    Err(err) => format!("failed: {err}"),
                };
                repairs.push(serde_json::json!({ "drift": drift, "outcome": outcome }));
            }
            report = reconcile::run_and_keep(reconciler.as_ref(), store.as_ref(), flow, &options)
                .await?;
        }
        reports.push(report);
    }
    if args.json {
        let out = serde_json::json!({ "reports": reports, "repairs": repairs });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for entry in &repairs {
            println!(
                "repair {} {} {}: {}",
                entry["drift"]["kind"].as_str().unwrap_or_default(),
                entry["drift"]["salesforce_id"].as_str().unwrap_or_default(),
                entry["drift"]["netsuite_id"].as_str().unwrap_or_default(),
                entry["outcome"].as_str().unwrap_or_default()
            );
        }
        for report in &reports {
            println!("{}", report.table());
        }
    }
    let left: u64 = reports.iter().map(Report::total).sum();
    if left > 0 {
        anyhow::bail!("{left} drifts found");
    }
    Ok(())
}

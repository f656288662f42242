//! The finance service's parts: its flows, the dispatcher and worker on the finance queue, and
//! its jobs API.

use std::sync::Arc;

use isthmus_engine::finance::FinanceFlows;
use isthmus_engine::work::Jobs;
use isthmus_engine::{Config, Secrets};
use isthmus_finance::FinanceSyncService;
use isthmus_store::Store;

/// The queue namespace of the finance service.
pub const QUEUE: &str = "finance";

/// The finance flows with their clients.
pub fn finance_flows(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<FinanceFlows> {
    Ok(FinanceFlows::new(
        config.finance.clone(),
        config.currencies.clone(),
        super::salesforce(config, secrets)?,
        super::netsuite(config, secrets, store.clone())?,
        store,
    )
    .with_bulk_threshold(config.salesforce.bulk_threshold))
}

pub async fn finance_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<super::ServiceParts> {
    let flows = finance_flows(config, secrets, store.clone())?;
    let jobs = Jobs::new(store.queue(QUEUE).await?, store.clone());
    let log = super::sync_log(config, secrets, store.clone());
    let (dispatcher, worker) = super::queue_runners(
        config,
        Arc::new(flows.clone()),
        jobs.clone(),
        log.clone(),
        config.finance.lock_ttl(),
    );
    let summaries = {
        let (flows, log) = (flows.clone(), log.clone());
        move || {
            let (flows, log) = (flows.clone(), log.clone());
            async move {
                let run = flows.sync_all_summaries(&log).await?;
                tracing::info!(?run, "scheduled account summaries done");
                Ok(())
            }
        }
    };
    let subsidiaries = {
        let (flows, log) = (flows.clone(), log.clone());
        move || {
            let (flows, log) = (flows.clone(), log.clone());
            async move {
                let trace = isthmus_telemetry::TraceContext::new_root();
                let began = std::time::Instant::now();
                for result in flows.sync_subsidiaries(false, &trace.trace_id).await? {
                    log.finished(&result, isthmus_engine::audit::Trigger::Schedule, began)
                        .await;
                }
                Ok(())
            }
        }
    };
    let aging = {
        let flows = flows.clone();
        move || {
            let flows = flows.clone();
            async move {
                let run = flows.sync_aging().await?;
                tracing::info!(?run, "scheduled receivables aging done");
                Ok(())
            }
        }
    };
    let gl_balances = {
        let flows = flows.clone();
        move || {
            let flows = flows.clone();
            async move {
                let run = flows.sync_gl_balances().await?;
                tracing::info!(?run, "scheduled GL balances done");
                Ok(())
            }
        }
    };
    let scheduler = super::scheduler(config, &store);
    let scheduler = super::schedule(
        scheduler,
        "finance.summaries",
        &config.schedules.account_summaries,
        summaries,
    )?;
    let scheduler = super::schedule(
        scheduler,
        "finance.subsidiaries",
        &config.schedules.subsidiaries,
        subsidiaries,
    )?;
    let scheduler = super::schedule(scheduler, "finance.aging", &config.schedules.aging, aging)?;
    let scheduler = super::schedule(
        scheduler,
        "finance.gl_balances",
        &config.schedules.gl_balances,
        gl_balances,
    )?;
    let (shared, scheduler) = super::shared_services(
        config,
        Arc::new(flows.clone()),
        &store,
        jobs,
        scheduler,
        log.clone(),
    )?;
    let service = FinanceSyncService::new(flows, dispatcher, log.clone());
    let routes = isthmus_finance::routes(service).with_shared(shared);
    Ok(super::ServiceParts::new(routes, worker, scheduler))
}

//! The customers service's parts, built from configuration: the flows, the dispatcher and
//! worker on the customers queue (`store.queue(DEFAULT_QUEUE_NAMESPACE)`, the original queue
//! keys), the scheduled delta and schema doctor, the gRPC routes, and the task that publishes the Salesforce
//! allocation every five seconds.

use std::sync::Arc;
use std::time::Duration;

use isthmus_customers::CustomerSyncService;
use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::delta::DeltaOptions;
use isthmus_engine::customers::CustomerFlows;
use isthmus_engine::doctor;
use isthmus_engine::work::Jobs;
use isthmus_engine::{Config, Secrets};
use isthmus_salesforce::SalesforceClient;
use isthmus_store::{Store, DEFAULT_QUEUE_NAMESPACE};

use super::{
    allocation, netsuite, queue_runners, salesforce, schedule, scheduler, shared_services,
    sync_log, ServiceParts,
};

/// The flows with their clients, and the Salesforce client itself (for publishing its usage).
pub fn customer_flows(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<(CustomerFlows, SalesforceClient)> {
    let salesforce = salesforce(config, secrets)?;
    let netsuite = netsuite(config, secrets, store.clone())?;
    let flows = CustomerFlows::new(
        config.customers.clone(),
        salesforce.clone(),
        netsuite,
        store,
    )
    .with_bulk_threshold(config.salesforce.bulk_threshold);
    Ok((flows, salesforce))
}

pub async fn customers_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<ServiceParts> {
    let (flows, salesforce) = customer_flows(config, secrets, store.clone())?;
    let jobs = Jobs::new(store.queue(DEFAULT_QUEUE_NAMESPACE).await?, store.clone());
    let allocation = allocation(config, store.clone());
    let publisher = {
        let allocation = allocation.clone();
        Box::pin(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                if let Err(err) = allocation.publish(&salesforce).await {
                    tracing::warn!(%err, "publishing the Salesforce allocation failed");
                }
            }
        })
    };
    let log = sync_log(config, secrets, store.clone());
    let (dispatcher, worker) = queue_runners(
        config,
        Arc::new(flows.clone()),
        jobs.clone(),
        log.clone(),
        config.customers.lock_ttl(),
    );
    let delta = {
        let (flows, log) = (flows.clone(), log.clone());
        let options = DeltaOptions {
            page_size: config.schedules.delta_page_size,
            overlap: config.schedules.delta_overlap(),
            concurrency: config.customers.backfill_concurrency,
            allocation: allocation.clone(),
        };
        move || {
            let (flows, log, options) = (flows.clone(), log.clone(), options.clone());
            async move {
                let report = flows.run_delta(&options, &log).await?;
                tracing::debug!(?report, "scheduled customers delta done");
                Ok(())
            }
        }
    };
    let scheduler = schedule(
        scheduler(config, &store),
        "customers.delta",
        &config.schedules.customers_delta,
        delta,
    )?;
    let scheduler = schedule(
        scheduler,
        "customers.doctor",
        &config.schedules.doctor,
        scheduled_doctor(config, secrets, &store, log.clone())?,
    )?;
    let (shared, scheduler) = shared_services(
        config,
        Arc::new(flows.clone()),
        &store,
        jobs,
        scheduler,
        log.clone(),
    )?;
    let service = CustomerSyncService::new(
        flows,
        dispatcher,
        allocation,
        log,
        config.customers.backfill_concurrency,
    );
    let routes = isthmus_customers::routes(service).with_shared(shared);
    Ok(ServiceParts::new(routes, worker, scheduler).with_companion(publisher))
}

/// The scheduled schema doctor: keeps its report for `GET /v1/doctor`; problems raise one alert
/// and make the run's outcome an error (so `GET /v1/schedules` shows it too).
fn scheduled_doctor(
    config: &Config,
    secrets: &Secrets,
    store: &Arc<dyn Store>,
    log: SyncLog,
) -> anyhow::Result<
    impl Fn() -> futures::future::BoxFuture<'static, isthmus_engine::Result<()>> + Send + Sync + 'static,
> {
    let config = Arc::new(config.clone());
    let salesforce = Arc::new(salesforce(&config, secrets)?);
    let netsuite = Arc::new(netsuite(&config, secrets, store.clone())?);
    let store = store.clone();
    Ok(move || {
        let (config, salesforce, netsuite, store, log) = (
            config.clone(),
            salesforce.clone(),
            netsuite.clone(),
            store.clone(),
            log.clone(),
        );
        let run: futures::future::BoxFuture<'static, isthmus_engine::Result<()>> =
            Box::pin(async move {
                let report =
                    doctor::run_and_keep(&config, &salesforce, &netsuite, store.as_ref()).await?;
                match report.alert() {
                    None => Ok(()),
                    Some(alert) => {
                        log.alert(alert);
                        Err(isthmus_engine::EngineError::Unprocessable(format!(
                            "{} schema problem(s): see GET /v1/doctor",
                            report.problems.len()
                        )))
                    }
                }
            });
        run
    })
}

//! The catalog service's parts, built from configuration: the flows, the dispatcher and worker
//! on the catalog's own job queue (`store.queue("catalog")`), and the gRPC services.

use std::sync::Arc;

use isthmus_catalog::CatalogSyncService;
use isthmus_engine::catalog::{CatalogFlows, RunMode, RunOptions};
use isthmus_engine::work::Jobs;
use isthmus_engine::{Config, Secrets};
use isthmus_store::Store;

use super::{allocation, netsuite, salesforce, sync_log};

/// The catalog's queue namespace: its worker takes only catalog jobs.
pub const CATALOG_QUEUE: &str = "catalog";

/// The catalog flows with their clients (NetSuite calls under the shared slot semaphore).
pub fn catalog_flows(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<CatalogFlows> {
    let salesforce = salesforce(config, secrets)?;
    let netsuite = netsuite(config, secrets, store.clone())?;
    Ok(CatalogFlows::new(
        config.catalog.clone(),
        &config.currencies,
        salesforce,
        netsuite,
        store,
    )
    .with_bulk_threshold(config.salesforce.bulk_threshold))
}

pub async fn catalog_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<super::ServiceParts> {
    let jobs = Jobs::new(store.queue(CATALOG_QUEUE).await?, store.clone());
    let flows = catalog_flows(config, secrets, store.clone())?;
    let allocation = allocation(config, store.clone());
    let log = sync_log(config, secrets, store.clone());
    let (dispatcher, worker) = super::queue_runners(
        config,
        Arc::new(flows.clone()),
        jobs.clone(),
        log.clone(),
        config.catalog.lock_ttl(),
    );
    let delta = {
        let (flows, allocation, log) = (flows.clone(), allocation.clone(), log.clone());
        move || {
            let (flows, allocation, log) = (flows.clone(), allocation.clone(), log.clone());
            async move {
                let options = RunOptions {
                    mode: RunMode::Delta,
                    limit: None,
                };
                let _report = flows
                    .run_catalog_exclusive(options, &allocation, &log, &|_| {})
                    .await?;
                Ok(())
            }
        }
    };
    let scheduler = super::schedule(
        super::scheduler(config, &store),
        "catalog.delta",
        &config.schedules.catalog_delta,
        delta,
    )?;
    let (shared, scheduler) = super::shared_services(
        config,
        Arc::new(flows.clone()),
        &store,
        jobs,
        scheduler,
        log.clone(),
    )?;
    let service = CatalogSyncService::new(flows, dispatcher, allocation, log);
    let routes = isthmus_catalog::routes(service).with_shared(shared);
    Ok(super::ServiceParts::new(routes, worker, scheduler))
}

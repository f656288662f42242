//! The catalog service's parts, built from configuration: the flows, the dispatcher and worker
//! on the catalog's own job queue (`store.with_queue("catalog")`), and the gRPC services.

use std::sync::Arc;
use std::time::Duration;

use isthmus_catalog::CatalogSyncService;
use isthmus_customers::jobs::JobQueueService;
use isthmus_engine::catalog::CatalogFlows;
use isthmus_engine::work::{Dispatcher, JobRunner, Worker};
use isthmus_engine::{Config, Secrets};
use isthmus_store::Store;
use tokio_util::sync::CancellationToken;

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
    ))
}

/// Everything a catalog service process runs.
pub struct CatalogParts {
    pub service: CatalogSyncService,
    pub jobs: JobQueueService,
    pub worker: Worker,
}

impl CatalogParts {
    /// Serves the gRPC services and runs the worker until `shutdown`; the worker finishes the
    /// jobs it holds before this returns.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let worker = tokio::spawn(self.worker.run(shutdown.clone()));
        let served = isthmus_catalog::run(
            listener,
            self.service,
            self.jobs,
            shutdown.clone().cancelled_owned(),
        )
        .await;
        shutdown.cancel();
        worker.await?;
        served?;
        Ok(())
    }
}

pub async fn catalog_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<CatalogParts> {
    let queue = store.with_queue(CATALOG_QUEUE).await?;
    let flows = catalog_flows(config, secrets, store.clone())?;
    let allocation = allocation(config, store.clone());
    let q = &config.queue;
    let job_ttl = Duration::from_secs(q.job_ttl_s);
    let log = sync_log(config, secrets, store);
    let runner: Arc<dyn JobRunner> = Arc::new(flows.clone());
    let dispatcher = Dispatcher::new(
        runner.clone(),
        queue.clone(),
        log.clone(),
        q.retry_policy(),
        Duration::from_millis(q.sync_wait_ms),
        job_ttl,
        // The safety net comes due once the item's lock lease has surely run out.
        config.catalog.lock_ttl() + Duration::from_secs(5),
    );
    let worker = Worker::new(
        runner,
        queue.clone(),
        log.clone(),
        q.retry_policy(),
        q.worker_concurrency,
        job_ttl,
        Duration::from_millis(q.reclaim_idle_ms),
    );
    Ok(CatalogParts {
        service: CatalogSyncService::new(flows, dispatcher, allocation, log),
        jobs: JobQueueService::new(queue, job_ttl),
        worker,
    })
}

//! The finance service's parts: its flows, the dispatcher and worker on the finance queue, and
//! its jobs API.

use std::sync::Arc;
use std::time::Duration;

use isthmus_customers::jobs::JobQueueService;
use isthmus_engine::finance::FinanceFlows;
use isthmus_engine::work::Worker;
use isthmus_engine::{Config, Secrets};
use isthmus_finance::FinanceSyncService;
use isthmus_store::Store;
use tokio_util::sync::CancellationToken;

/// The queue namespace of the finance service.
pub const QUEUE: &str = "finance";

/// Everything a finance service process runs.
pub struct FinanceParts {
    pub service: FinanceSyncService,
    pub jobs: JobQueueService,
    pub worker: Worker,
}

impl FinanceParts {
    /// Serves gRPC and runs the worker until `shutdown`.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let serve = isthmus_finance::run(
            listener,
            self.service,
            self.jobs,
            shutdown.clone().cancelled_owned(),
        );
        super::serve_and_work(self.worker, serve, shutdown).await
    }
}

pub async fn finance_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<FinanceParts> {
    let flows = FinanceFlows::new(
        config.finance.clone(),
        config.currencies.clone(),
        super::salesforce(config, secrets)?,
        super::netsuite(config, secrets, store.clone())?,
        store.clone(),
    );
    let queue = store.with_queue(QUEUE).await?;
    let log = super::sync_log(config, secrets, store);
    let (dispatcher, worker) = super::queue_runners(
        config,
        Arc::new(flows.clone()),
        queue.clone(),
        log,
        config.finance.lock_ttl(),
    );
    Ok(FinanceParts {
        service: FinanceSyncService::new(flows, dispatcher),
        jobs: JobQueueService::new(queue, Duration::from_secs(config.queue.job_ttl_s)),
        worker,
    })
}

//! The orders service's parts: its flows (with a gRPC client of the customers service), the
//! dispatcher and worker on the orders queue, and its jobs API.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use isthmus_customers::jobs::JobQueueService;
use isthmus_engine::orders::OrderFlows;
use isthmus_engine::schedule::Scheduler;
use isthmus_engine::work::Worker;
use isthmus_engine::{Config, Secrets};
use isthmus_orders::OrderSyncService;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_store::Store;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

/// The queue namespace of the orders service.
pub const QUEUE: &str = "orders";

/// Everything an orders service process runs.
pub struct OrdersParts {
    /// For the scheduled renewal scans.
    pub flows: OrderFlows,
    /// The store the schedules' locks and status values live in.
    pub store: Arc<dyn Store>,
    pub service: OrderSyncService,
    pub jobs: JobQueueService,
    pub worker: Worker,
}

impl OrdersParts {
    /// Serves gRPC and runs the worker until `shutdown`; the worker finishes the jobs it holds
    /// before this returns.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut scheduler = Scheduler::new(self.store.clone(), self.flows.lock_ttl());
        if let Some(schedule) = self.flows.renewal_schedule()? {
            let flows = self.flows.clone();
            scheduler = scheduler.job("orders.renewals", schedule, move |_firing| {
                let flows = flows.clone();
                async move { flows.scheduled_renewal_scan().await }
            })?;
        }
        let scans = tokio::spawn(scheduler.run(shutdown.clone()));
        let serve = isthmus_orders::run(
            listener,
            self.service,
            self.jobs,
            shutdown.clone().cancelled_owned(),
        );
        let served = super::serve_and_work(self.worker, serve, shutdown).await;
        scans.await?;
        served
    }
}

/// The orders service, calling the customers service at `customers_url` (lazily connected:
/// the service starts while the customers service is still coming up).
pub async fn orders_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
    customers_url: &str,
) -> anyhow::Result<OrdersParts> {
    let salesforce = super::salesforce(config, secrets)?;
    let netsuite = super::netsuite(config, secrets, store.clone())?;
    let channel = Endpoint::from_shared(customers_url.to_string())
        .with_context(|| format!("orders.customers_url {customers_url:?}"))?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .connect_lazy();
    let flows = OrderFlows::new(
        config.orders.clone(),
        config.customers.clone(),
        config.currencies.clone(),
        salesforce,
        netsuite,
        store.clone(),
        CustomerSyncClient::new(channel),
    );
    let queue = store.with_queue(QUEUE).await?;
    let job_ttl = Duration::from_secs(config.queue.job_ttl_s);
    let log = super::sync_log(config, secrets, store.clone());
    let (dispatcher, worker) = super::queue_runners(
        config,
        Arc::new(flows.clone()),
        queue.clone(),
        log,
        config.orders.lock_ttl(),
    );
    Ok(OrdersParts {
        flows: flows.clone(),
        store: store.clone(),
        service: OrderSyncService::new(flows, dispatcher),
        jobs: JobQueueService::new(queue, job_ttl),
        worker,
    })
}

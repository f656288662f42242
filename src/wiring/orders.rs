//! The orders service's parts: its flows (with a gRPC client of the customers service), the
//! dispatcher and worker on the orders queue, and its jobs API.

use std::sync::Arc;

use isthmus_engine::orders::OrderFlows;
use isthmus_engine::schedule::Scheduler;
use isthmus_engine::work::Jobs;
use isthmus_engine::{Config, Secrets};
use isthmus_orders::OrderSyncService;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_store::Store;

/// The queue namespace of the orders service.
pub const QUEUE: &str = "orders";

/// The orders flows with their clients, calling the customers service at `customers_url`
/// (lazily connected: the flows exist while the customers service is still coming up) with
/// this process's gRPC credential (`grpc.token`, or a client certificate).
pub fn order_flows(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
    customers_url: &str,
) -> anyhow::Result<OrderFlows> {
    super::grpc::require_tls_urls(config, &[("orders.customers_url", customers_url)])?;
    let salesforce = super::salesforce(config, secrets)?;
    let netsuite = super::netsuite(config, secrets, store.clone())?;
    let channel = super::grpc::client_security(config, secrets)?
        .channel(customers_url)
        .map_err(|e| anyhow::anyhow!("orders.customers_url {customers_url:?}: {e}"))?;
    Ok(OrderFlows::new(
        config.orders.clone(),
        config.customers.clone(),
        config.currencies.clone(),
        salesforce,
        netsuite,
        store,
        CustomerSyncClient::new(channel),
    )
    .with_bulk_threshold(config.salesforce.bulk_threshold))
}

/// The orders service, calling the customers service at `customers_url`.
pub async fn orders_service(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
    customers_url: &str,
) -> anyhow::Result<super::ServiceParts> {
    let flows = order_flows(config, secrets, store.clone(), customers_url)?;
    let jobs = Jobs::new(store.queue(QUEUE).await?, store.clone());
    let log = super::sync_log(config, secrets, store.clone());
    let (dispatcher, worker) = super::queue_runners(
        config,
        Arc::new(flows.clone()),
        jobs.clone(),
        log.clone(),
        config.orders.lock_ttl(),
    );
    let mut scheduler = Scheduler::new(store.clone(), store.clone(), flows.lock_ttl())
        .with_hold_pause(config.queue.retry_policy().hold_pause);
    if let Some(schedule) = flows.renewal_schedule()? {
        let flows = flows.clone();
        scheduler = scheduler.job("orders.renewals", schedule, move |_firing| {
            let flows = flows.clone();
            async move { flows.scheduled_renewal_scan().await }
        })?;
    }
    let (shared, scheduler) = super::shared_services(
        config,
        Arc::new(flows.clone()),
        &store,
        jobs,
        scheduler,
        log.clone(),
    )?;
    let service = OrderSyncService::new(flows, dispatcher);
    let routes = isthmus_orders::routes(service).with_shared(shared);
    Ok(super::ServiceParts::new(routes, worker, scheduler))
}

//! The gateway's gRPC clients of the four services: one channel per service, connected on first
//! use, every call carrying the request's trace context and the gateway's own gRPC credential
//! (`isthmus_grpc::ClientSecurity`: its token, TLS when the URLs are `https://`), and a client
//! made from it per call. The one way the gateway reaches a service.

use std::time::Duration;

use isthmus_grpc::ClientSecurity;
use isthmus_proto::catalog::v1::catalog_sync_client::CatalogSyncClient;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::finance::v1::finance_sync_client::FinanceSyncClient;
use isthmus_proto::jobs::v1::job_queue_client::JobQueueClient;
use isthmus_proto::orders::v1::order_sync_client::OrderSyncClient;
use isthmus_proto::reconcile::v1::reconciliation_client::ReconciliationClient;
use isthmus_telemetry::TracedChannel;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{GatewayError, ServiceUrls};

/// One of the services behind the gateway (as a query parameter: `?service=catalog`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    #[default]
    Customers,
    Catalog,
    Orders,
    Finance,
}

impl Service {
    pub const ALL: [Self; 4] = [Self::Customers, Self::Catalog, Self::Orders, Self::Finance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Catalog => "catalog",
            Self::Orders => "orders",
            Self::Finance => "finance",
        }
    }

    /// The full name of its own gRPC service, as health reports it.
    pub fn grpc_name(self) -> &'static str {
        match self {
            Self::Customers => "isthmus.customers.v1.CustomerSync",
            Self::Catalog => "isthmus.catalog.v1.CatalogSync",
            Self::Orders => "isthmus.orders.v1.OrderSync",
            Self::Finance => "isthmus.finance.v1.FinanceSync",
        }
    }
}

#[derive(Clone)]
pub(crate) struct Services {
    customers: TracedChannel,
    catalog: TracedChannel,
    orders: TracedChannel,
    finance: TracedChannel,
}

impl Services {
    /// Channels to `urls`, connected lazily (the gateway starts while a service is still coming
    /// up; `/readyz` tells when they answer).
    pub(crate) fn connect(urls: &ServiceUrls, grpc: &ClientSecurity) -> Result<Self, GatewayError> {
        Ok(Self {
            customers: lazy_channel(grpc, Service::Customers, &urls.customers)?,
            catalog: lazy_channel(grpc, Service::Catalog, &urls.catalog)?,
            orders: lazy_channel(grpc, Service::Orders, &urls.orders)?,
            finance: lazy_channel(grpc, Service::Finance, &urls.finance)?,
        })
    }

    fn channel(&self, service: Service) -> TracedChannel {
        match service {
            Service::Customers => self.customers.clone(),
            Service::Catalog => self.catalog.clone(),
            Service::Orders => self.orders.clone(),
            Service::Finance => self.finance.clone(),
        }
    }

    pub(crate) fn customers(&self) -> CustomerSyncClient<TracedChannel> {
        CustomerSyncClient::new(self.channel(Service::Customers))
    }

    pub(crate) fn catalog(&self) -> CatalogSyncClient<TracedChannel> {
        CatalogSyncClient::new(self.channel(Service::Catalog))
    }

    pub(crate) fn orders(&self) -> OrderSyncClient<TracedChannel> {
        OrderSyncClient::new(self.channel(Service::Orders))
    }

    pub(crate) fn finance(&self) -> FinanceSyncClient<TracedChannel> {
        FinanceSyncClient::new(self.channel(Service::Finance))
    }

    /// The job queue API of `service` (each runs its own queue).
    pub(crate) fn jobs(&self, service: Service) -> JobQueueClient<TracedChannel> {
        JobQueueClient::new(self.channel(service))
    }

    /// The reconciliation API of `service` (each reconciles its own flows).
    pub(crate) fn reconciliation(&self, service: Service) -> ReconciliationClient<TracedChannel> {
        ReconciliationClient::new(self.channel(service))
    }

    /// "ok" when `service` reports SERVING over gRPC health, else what is wrong.
    pub(crate) async fn serving(&self, service: Service) -> String {
        use tonic_health::pb::health_check_response::ServingStatus;
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel(service));
        let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
            service: service.grpc_name().into(),
        });
        request.set_timeout(Duration::from_secs(2));
        match health.check(request).await {
            Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => "ok".to_string(),
            Ok(r) => format!("not serving ({})", r.get_ref().status),
            Err(s) => format!("down: {}", s.message()),
        }
    }
}

/// A channel to a service, connected on first use, presenting the gateway's credential.
fn lazy_channel(
    grpc: &ClientSecurity,
    service: Service,
    url: &str,
) -> Result<TracedChannel, GatewayError> {
    grpc.channel(url)
        .map_err(|source| GatewayError::ServiceUrl {
            service: service.as_str(),
            url: url.to_string(),
            source,
        })
}

//! The orders service: serves `isthmus.orders.v1.OrderSync` over gRPC (with gRPC health,
//! reflection and the orders queue's `isthmus.jobs.v1.JobQueue`) on top of the engine's
//! [`OrderFlows`].
//!
//! This layer checks ids (so malformed input never reaches a vendor, a query or Redis), picks up
//! the trace id from the `traceparent` metadata, and maps engine errors to statuses that carry
//! the shared [`ErrorCode`]. It calls the customers service over gRPC (inside the flows) to
//! ensure an opportunity's account has its customer.

use isthmus_engine::orders::{OrderFlows, RecordChange};
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_grpc::ids::{netsuite_id, salesforce_id};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::orders::v1::order_sync_server::{OrderSync, OrderSyncServer};
use isthmus_proto::orders::v1::{
    get_order_link_request, GetOrderLinkRequest, OrderLink, ScanRenewalsRequest,
    ScanRenewalsResponse, SyncEstimateRequest, SyncFulfillmentRequest, SyncOpportunityRequest,
    SyncQuoteRequest, SyncSalesOrderRequest,
};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use isthmus_telemetry::trace_id_of;
use tonic::{Request, Response, Status};

use isthmus_grpc::convert::{delivery, sync_result, sync_results};
use isthmus_grpc::{ServiceRoutes, MAX_MESSAGE_BYTES};

pub struct OrderSyncService {
    flows: OrderFlows,
    dispatcher: Dispatcher,
}

impl OrderSyncService {
    pub fn new(flows: OrderFlows, dispatcher: Dispatcher) -> Self {
        Self { flows, dispatcher }
    }
}

/// The change an event reports; unknown values are refused.
fn change_of(raw: i32) -> Result<RecordChange, Status> {
    use isthmus_proto::orders::v1::RecordChange as Wire;
    match Wire::try_from(raw) {
        Ok(Wire::Delete) => Ok(RecordChange::Delete),
        Ok(_) => Ok(RecordChange::Upsert),
        Err(_) => Err(ErrorCode::InvalidArgument.status(format!("unknown change type {raw}"))),
    }
}

#[tonic::async_trait]
impl OrderSync for OrderSyncService {
    async fn sync_opportunity(
        &self,
        request: Request<SyncOpportunityRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = salesforce_id(&request.opportunity_id, SObject::Opportunity)?;
        let job = SyncJob::Opportunity {
            opportunity_id: id.clone(),
        };
        let dry_run = self.flows.sync_opportunity(&id, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn sync_quote(
        &self,
        request: Request<SyncQuoteRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = salesforce_id(&request.quote_id, SObject::Quote)?;
        let job = SyncJob::Quote {
            quote_id: id.clone(),
        };
        let dry_run = self.flows.sync_quote(&id, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn sync_estimate(
        &self,
        request: Request<SyncEstimateRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = netsuite_id(&request.estimate_id, "estimate")?;
        let change = change_of(request.change)?;
        let job = SyncJob::Estimate {
            estimate_id: id.clone(),
            delete: change == RecordChange::Delete,
        };
        let dry_run = self.flows.sync_estimate(&id, change, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn sync_sales_order(
        &self,
        request: Request<SyncSalesOrderRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = netsuite_id(&request.sales_order_id, "sales order")?;
        let change = change_of(request.change)?;
        let job = SyncJob::SalesOrder {
            sales_order_id: id.clone(),
            delete: change == RecordChange::Delete,
        };
        let dry_run = self.flows.sync_sales_order(&id, change, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn sync_fulfillment(
        &self,
        request: Request<SyncFulfillmentRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = netsuite_id(&request.fulfillment_id, "item fulfilment")?;
        let change = change_of(request.change)?;
        let job = SyncJob::Fulfillment {
            fulfillment_id: id.clone(),
            delete: change == RecordChange::Delete,
        };
        let dry_run = self.flows.sync_fulfillment(&id, change, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn scan_renewals(
        &self,
        request: Request<ScanRenewalsRequest>,
    ) -> Result<Response<ScanRenewalsResponse>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let results = self
            .flows
            .scan_renewals(request.within_days, request.dry_run, &trace_id)
            .await?;
        Ok(Response::new(ScanRenewalsResponse {
            results: sync_results(results),
        }))
    }

    async fn get_order_link(
        &self,
        request: Request<GetOrderLinkRequest>,
    ) -> Result<Response<OrderLink>, Status> {
        let link = match request.into_inner().key {
            Some(get_order_link_request::Key::OpportunityId(raw)) => {
                let id = salesforce_id(&raw, SObject::Opportunity)?;
                self.flows.link_by_salesforce(id.as_str()).await?
            }
            Some(get_order_link_request::Key::SalesOrderId(raw)) => {
                let id = netsuite_id(&raw, "sales order")?;
                self.flows.link_by_netsuite(id.as_str()).await?
            }
            None => {
                return Err(
                    ErrorCode::InvalidArgument.status("give opportunity_id or sales_order_id")
                )
            }
        };
        let link =
            link.ok_or_else(|| ErrorCode::NotFound.status("no order link for that record"))?;
        Ok(Response::new(OrderLink {
            opportunity_id: link.salesforce_id,
            sales_order_id: link.netsuite_id,
            salesforce_hash: link.salesforce_hash,
            netsuite_hash: link.netsuite_hash,
            synced_at_ms: link.synced_at_ms,
        }))
    }
}

/// The orders service's gRPC routes, for [`isthmus_grpc::serve`] (with the shared servers
/// added by the wiring).
pub fn routes(service: OrderSyncService) -> ServiceRoutes {
    ServiceRoutes::new("orders")
        .with_service(OrderSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

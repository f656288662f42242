//! The catalog service: serves `isthmus.catalog.v1.CatalogSync` over gRPC, with gRPC health,
//! reflection and `isthmus.jobs.v1.JobQueue` over the catalog's own job queue, on top of the
//! engine's [`CatalogFlows`].
//!
//! This layer checks every id and enum (so malformed input never reaches a vendor, a query or
//! Redis), picks up the trace id from the `traceparent` metadata, delivers item syncs through a
//! [`Dispatcher`] (inline up to the wait, queued when asked or when needed) and maps engine
//! errors to statuses that carry the shared [`ErrorCode`].

use isthmus_engine::audit::SyncLog;
use isthmus_engine::catalog::{CatalogFlows, CatalogRun as RunRecord, RunMode, RunOptions};
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_grpc::ids::{netsuite_id, record_id, salesforce_id};
use isthmus_proto::catalog::v1::catalog_sync_server::{CatalogSync, CatalogSyncServer};
use isthmus_proto::catalog::v1::{
    get_product_link_request, CatalogRun, GetCatalogRunRequest, GetProductLinkRequest, ItemChange,
    ProductLink, RunMode as ProtoRunMode, StartCatalogRunRequest, SyncItemRequest,
};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use isthmus_telemetry::trace_id_of;
use tonic::{Request, Response, Status};

use isthmus_grpc::convert::{delivery, sync_result};
use isthmus_grpc::{ServiceRoutes, MAX_MESSAGE_BYTES};

pub struct CatalogSyncService {
    flows: CatalogFlows,
    dispatcher: Dispatcher,
    allocation: SalesforceAllocation,
    log: SyncLog,
}

impl CatalogSyncService {
    /// `dispatcher` runs on the catalog's own queue (`Store::queue`).
    pub fn new(
        flows: CatalogFlows,
        dispatcher: Dispatcher,
        allocation: SalesforceAllocation,
        log: SyncLog,
    ) -> Self {
        Self {
            flows,
            dispatcher,
            allocation,
            log,
        }
    }
}

/// The run mode of a request; unspecified is a delta.
pub fn run_mode(raw: i32) -> Result<RunMode, Status> {
    match ProtoRunMode::try_from(raw) {
        Ok(ProtoRunMode::Full) => Ok(RunMode::Full),
        Ok(ProtoRunMode::Delta | ProtoRunMode::Unspecified) => Ok(RunMode::Delta),
        Err(_) => Err(ErrorCode::InvalidArgument.status(format!("unknown run mode {raw}"))),
    }
}

fn run_message(run: RunRecord) -> CatalogRun {
    let p = run.progress;
    CatalogRun {
        id: run.id,
        mode: run.mode.as_str().to_string(),
        state: run.state.as_str().to_string(),
        seen: p.seen,
        created: p.created,
        updated: p.updated,
        unchanged: p.unchanged,
        deactivated: p.deactivated,
        failed: p.failed,
        prices_written: p.prices_written,
        started_at_ms: run.started_at_ms,
        finished_at_ms: run.finished_at_ms,
        errors: run.errors,
    }
}

fn link_message(link: isthmus_store::Link) -> ProductLink {
    ProductLink {
        item_id: link.netsuite_id,
        product_id: link.salesforce_id,
        netsuite_hash: link.netsuite_hash,
        synced_at_ms: link.synced_at_ms,
    }
}

#[tonic::async_trait]
impl CatalogSync for CatalogSyncService {
    async fn sync_item(
        &self,
        request: Request<SyncItemRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let item_id = netsuite_id(&request.item_id, "item")?;
        let delete = match ItemChange::try_from(request.change) {
            Ok(ItemChange::Delete) => true,
            Ok(_) => false,
            Err(_) => {
                return Err(ErrorCode::InvalidArgument
                    .status(format!("unknown item change {}", request.change)))
            }
        };
        let job = SyncJob::Item {
            item_id: item_id.clone(),
            delete,
        };
        let dry_run = self.flows.sync_item(&item_id, delete, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn start_catalog_run(
        &self,
        request: Request<StartCatalogRunRequest>,
    ) -> Result<Response<CatalogRun>, Status> {
        let request = request.into_inner();
        let options = RunOptions {
            mode: run_mode(request.mode)?,
            limit: (request.limit > 0).then_some(request.limit as usize),
        };
        let run = self
            .flows
            .start_catalog_run(options, self.allocation.clone(), self.log.clone())
            .await?;
        Ok(Response::new(run_message(run)))
    }

    async fn get_catalog_run(
        &self,
        request: Request<GetCatalogRunRequest>,
    ) -> Result<Response<CatalogRun>, Status> {
        let id = record_id(&request.into_inner().id, "a catalog run id")?;
        let run = self
            .flows
            .catalog_run(&id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.status("no catalog run with that id"))?;
        Ok(Response::new(run_message(run)))
    }

    async fn get_product_link(
        &self,
        request: Request<GetProductLinkRequest>,
    ) -> Result<Response<ProductLink>, Status> {
        let link = match request.into_inner().key {
            Some(get_product_link_request::Key::ItemId(raw)) => {
                let id = netsuite_id(&raw, "item")?;
                self.flows.link_by_item(id.as_str()).await?
            }
            Some(get_product_link_request::Key::ProductId(raw)) => {
                let id = salesforce_id(&raw, SObject::Product2)?;
                self.flows.link_by_product(id.as_str()).await?
            }
            None => return Err(ErrorCode::InvalidArgument.status("give item_id or product_id")),
        };
        let link =
            link.ok_or_else(|| ErrorCode::NotFound.status("no product link for that record"))?;
        Ok(Response::new(link_message(link)))
    }
}

/// The catalog service's gRPC routes, for [`isthmus_grpc::serve`] (with the shared servers
/// added by the wiring).
pub fn routes(service: CatalogSyncService) -> ServiceRoutes {
    ServiceRoutes::new("catalog")
        .with_service(CatalogSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(status: Status) -> ErrorCode {
        ErrorCode::from_status(&status)
    }

    #[test]
    fn modes_are_checked_with_stable_codes() {
        assert_eq!(run_mode(ProtoRunMode::Full as i32).unwrap(), RunMode::Full);
        assert_eq!(run_mode(0).unwrap(), RunMode::Delta);
        assert_eq!(code(run_mode(9).unwrap_err()), ErrorCode::InvalidArgument);
    }
}

//! The catalog service: serves `isthmus.catalog.v1.CatalogSync` over gRPC, with gRPC health,
//! reflection and `isthmus.jobs.v1.JobQueue` over the catalog's own job queue, on top of the
//! engine's [`CatalogFlows`].
//!
//! This layer checks every id and enum (so malformed input never reaches a vendor, a query or
//! Redis), picks up the trace id from the `traceparent` metadata, delivers item syncs through a
//! [`Dispatcher`] (inline up to the wait, queued when asked or when needed) and maps engine
//! errors to statuses that carry the shared [`ErrorCode`].

use std::future::Future;

use isthmus_engine::audit::SyncLog;
use isthmus_engine::catalog::{
    is_netsuite_id, CatalogFlows, CatalogRun as RunRecord, RunMode, RunOptions,
};
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_proto::catalog::v1::catalog_sync_server::{CatalogSync, CatalogSyncServer};
use isthmus_proto::catalog::v1::{
    get_product_link_request, CatalogRun, GetCatalogRunRequest, GetProductLinkRequest, ItemChange,
    ProductLink, RunMode as ProtoRunMode, StartCatalogRunRequest, SyncItemRequest,
};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::trace::trace_id_of;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use isthmus_customers::grpc::{self, MAX_MESSAGE_BYTES};

pub struct CatalogSyncService {
    flows: CatalogFlows,
    dispatcher: Dispatcher,
    allocation: SalesforceAllocation,
    log: SyncLog,
}

impl CatalogSyncService {
    /// `dispatcher` runs on the catalog's queue view of the store.
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

/// Caller input as it may appear in a message: at most 40 characters, escaped.
fn shown(raw: &str) -> String {
    raw.chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string()
}

/// A NetSuite item internal id, or `INVALID_ARGUMENT`.
pub fn check_item_id(raw: &str) -> Result<(), Status> {
    if is_netsuite_id(raw) {
        Ok(())
    } else {
        Err(ErrorCode::InvalidArgument.status(format!(
            "'{}' is not a NetSuite internal id (digits only)",
            shown(raw)
        )))
    }
}

/// An 18-character Product2 id, or `INVALID_ARGUMENT` saying what is wrong with it.
pub fn parse_product_id(raw: &str) -> Result<SalesforceId, Status> {
    let id = SalesforceId::parse(raw).map_err(|e| {
        ErrorCode::InvalidArgument.status(format!("'{}' is not a Salesforce id: {e}", shown(raw)))
    })?;
    if id.key_prefix() != "01t" {
        return Err(ErrorCode::InvalidArgument.status(format!(
            "'{}' is not a Product2 id (Product2 ids start with 01t, this one with {})",
            shown(raw),
            id.key_prefix()
        )));
    }
    Ok(id)
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
        check_item_id(&request.item_id)?;
        let delete = match ItemChange::try_from(request.change) {
            Ok(ItemChange::Delete) => true,
            Ok(_) => false,
            Err(_) => {
                return Err(ErrorCode::InvalidArgument
                    .status(format!("unknown item change {}", request.change)))
            }
        };
        let job = SyncJob::Item {
            item_id: request.item_id.clone(),
            delete,
        };
        let dry_run = self
            .flows
            .sync_item(&request.item_id, delete, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, request.options.as_ref(), dry_run, &trace_id)
            .await?;
        Ok(Response::new(result))
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
        let run = self
            .flows
            .catalog_run(&request.into_inner().id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.status("no catalog run with that id"))?;
        Ok(Response::new(run_message(run)))
    }

    async fn get_product_link(
        &self,
        request: Request<GetProductLinkRequest>,
    ) -> Result<Response<ProductLink>, Status> {
        let link = match request.into_inner().key {
            Some(get_product_link_request::Key::ItemId(id)) => {
                check_item_id(&id)?;
                self.flows.link_by_item(&id).await?
            }
            Some(get_product_link_request::Key::ProductId(raw)) => {
                let id = parse_product_id(&raw)?;
                self.flows.link_by_product(id.as_str()).await?
            }
            None => return Err(ErrorCode::InvalidArgument.status("give item_id or product_id")),
        };
        let link =
            link.ok_or_else(|| ErrorCode::NotFound.status("no product link for that record"))?;
        Ok(Response::new(link_message(link)))
    }
}

pub use isthmus_customers::grpc::ServeError;

/// Serves the catalog service, health, reflection and the catalog queue's `JobQueue` on
/// `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    service: CatalogSyncService,
    shared: grpc::Shared,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = CatalogSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let [jobs, reconcile] = grpc::Shared::NAMES;
    grpc::serve(
        "catalog",
        listener,
        &["isthmus.catalog.v1.CatalogSync", jobs, reconcile],
        |router| shared.add_to(router.add_service(service)),
        shutdown,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(status: Status) -> ErrorCode {
        ErrorCode::from_status(&status)
    }

    #[test]
    fn ids_and_modes_are_checked_with_stable_codes() {
        assert!(check_item_id("42").is_ok());
        for bad in ["", "4a", "1' OR 1=1", "123456789012345678901"] {
            assert_eq!(
                code(check_item_id(bad).unwrap_err()),
                ErrorCode::InvalidArgument
            );
        }
        assert_eq!(run_mode(ProtoRunMode::Full as i32).unwrap(), RunMode::Full);
        assert_eq!(run_mode(0).unwrap(), RunMode::Delta);
        assert_eq!(code(run_mode(9).unwrap_err()), ErrorCode::InvalidArgument);
    }

    #[test]
    fn a_product_link_needs_a_product2_id() {
        // An Account id is a valid Salesforce id, but not a product's.
        let err = parse_product_id("001000000000001AAA").unwrap_err();
        assert!(err.message().contains("01t"), "{err:?}");
        assert_eq!(code(err), ErrorCode::InvalidArgument);
        assert_eq!(
            code(parse_product_id("not-an-id").unwrap_err()),
            ErrorCode::InvalidArgument
        );
    }
}

//! The customers service: serves `isthmus.customers.v1.CustomerSync` over gRPC, with gRPC health
//! and reflection, on top of the engine's [`CustomerFlows`].
//!
//! This layer checks ids (so malformed input never reaches a vendor, a query or Redis), picks up
//! the trace id from the `traceparent` metadata, and maps engine errors to statuses that carry
//! the shared [`ErrorCode`].

use std::future::Future;

pub mod conflicts;
pub mod grpc;
pub mod jobs;
pub mod reconcile;

use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::backfill::BackfillOptions;
use isthmus_engine::customers::jobs::BackfillJob;
use isthmus_engine::customers::{is_netsuite_id, CustomerChange, CustomerFlows};
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::customers::v1::customer_sync_server::{CustomerSync, CustomerSyncServer};
use isthmus_proto::customers::v1::{
    get_link_request, Backfill, ChangeType, Conflict, GetBackfillRequest, GetConflictRequest,
    GetLinkRequest, Link, ListConflictsRequest, ListConflictsResponse, ResolveConflictRequest,
    StartAccountBackfillRequest, SyncAccountRequest, SyncCustomerRequest,
};
use isthmus_proto::trace::trace_id_of;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use grpc::MAX_MESSAGE_BYTES;

pub struct CustomerSyncService {
    flows: CustomerFlows,
    dispatcher: Dispatcher,
    allocation: SalesforceAllocation,
    log: SyncLog,
    backfill_concurrency: usize,
}

impl CustomerSyncService {
    pub fn new(
        flows: CustomerFlows,
        dispatcher: Dispatcher,
        allocation: SalesforceAllocation,
        log: SyncLog,
        backfill_concurrency: usize,
    ) -> Self {
        Self {
            flows,
            dispatcher,
            allocation,
            log,
            backfill_concurrency,
        }
    }
}

fn backfill_message(job: BackfillJob) -> Backfill {
    Backfill {
        id: job.id,
        state: job.state.as_str().to_string(),
        seen: job.progress.seen,
        created: job.progress.created,
        updated: job.progress.updated,
        unchanged: job.progress.unchanged,
        conflicts: job.progress.conflicts,
        failed: job.progress.failed,
        written_back: job.progress.written_back,
        queued: job.progress.queued,
        started_at_ms: job.started_at_ms,
        finished_at_ms: job.finished_at_ms,
        errors: job.errors,
    }
}

/// An 18-character Account id, or an `INVALID_ARGUMENT` status saying what is wrong with it.
pub fn parse_account_id(raw: &str) -> Result<SalesforceId, Status> {
    let shown = raw
        .chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string();
    let id = SalesforceId::parse(raw).map_err(|e| {
        ErrorCode::InvalidArgument.status(format!("'{shown}' is not a Salesforce id: {e}"))
    })?;
    if id.key_prefix() != "001" {
        return Err(ErrorCode::InvalidArgument.status(format!(
            "'{shown}' is not an Account id (Account ids start with 001, this one with {})",
            id.key_prefix()
        )));
    }
    Ok(id)
}

#[tonic::async_trait]
impl CustomerSync for CustomerSyncService {
    async fn sync_account(
        &self,
        request: Request<SyncAccountRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = parse_account_id(&request.account_id)?;
        let job = SyncJob::Account {
            account_id: id.to_string(),
        };
        let dry_run = self.flows.sync_account(&id, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, request.options.as_ref(), dry_run, &trace_id)
            .await?;
        Ok(Response::new(result))
    }

    async fn sync_customer(
        &self,
        request: Request<SyncCustomerRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        if !is_netsuite_id(&request.customer_id) {
            return Err(ErrorCode::InvalidArgument.status(format!(
                "'{}' is not a NetSuite internal id (digits only)",
                request
                    .customer_id
                    .chars()
                    .take(40)
                    .collect::<String>()
                    .escape_debug()
            )));
        }
        let change = match ChangeType::try_from(request.change) {
            Ok(ChangeType::Delete) => CustomerChange::Delete,
            Ok(_) => CustomerChange::Upsert,
            Err(_) => {
                return Err(ErrorCode::InvalidArgument
                    .status(format!("unknown change type {}", request.change)))
            }
        };
        let job = SyncJob::Customer {
            customer_id: request.customer_id.clone(),
            delete: change == CustomerChange::Delete,
        };
        let dry_run = self
            .flows
            .sync_customer(&request.customer_id, change, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, request.options.as_ref(), dry_run, &trace_id)
            .await?;
        Ok(Response::new(result))
    }

    async fn get_link(&self, request: Request<GetLinkRequest>) -> Result<Response<Link>, Status> {
        let link = match request.into_inner().key {
            Some(get_link_request::Key::SalesforceId(raw)) => {
                let id = parse_account_id(&raw)?;
                self.flows.link_by_salesforce(id.as_str()).await?
            }
            Some(get_link_request::Key::NetsuiteId(id)) => {
                if !is_netsuite_id(&id) {
                    return Err(
                        ErrorCode::InvalidArgument.status("netsuite_id must be digits only")
                    );
                }
                self.flows.link_by_netsuite(&id).await?
            }
            None => {
                return Err(ErrorCode::InvalidArgument.status("give salesforce_id or netsuite_id"))
            }
        };
        let link = link.ok_or_else(|| ErrorCode::NotFound.status("no link for that record"))?;
        Ok(Response::new(link_message(link)))
    }

    async fn start_account_backfill(
        &self,
        request: Request<StartAccountBackfillRequest>,
    ) -> Result<Response<Backfill>, Status> {
        let request = request.into_inner();
        let options = BackfillOptions {
            concurrency: self.backfill_concurrency,
            all: request.all,
            shard: None,
            limit: (request.limit > 0).then_some(request.limit as usize),
        };
        let job = self
            .flows
            .start_account_backfill(options, self.allocation.clone(), self.log.clone())
            .await?;
        Ok(Response::new(backfill_message(job)))
    }

    async fn get_backfill(
        &self,
        request: Request<GetBackfillRequest>,
    ) -> Result<Response<Backfill>, Status> {
        let job = self
            .flows
            .backfill_job(&request.into_inner().id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.status("no backfill job with that id"))?;
        Ok(Response::new(backfill_message(job)))
    }

    async fn list_conflicts(
        &self,
        request: Request<ListConflictsRequest>,
    ) -> Result<Response<ListConflictsResponse>, Status> {
        let answer = conflicts::list(&self.flows, request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn get_conflict(
        &self,
        request: Request<GetConflictRequest>,
    ) -> Result<Response<Conflict>, Status> {
        let answer = conflicts::get(&self.flows, request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn resolve_conflict(
        &self,
        request: Request<ResolveConflictRequest>,
    ) -> Result<Response<Conflict>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let answer = conflicts::resolve(&self.flows, request.into_inner(), &trace_id).await?;
        Ok(Response::new(answer))
    }
}

fn link_message(link: isthmus_store::Link) -> Link {
    Link {
        salesforce_id: link.salesforce_id,
        netsuite_id: link.netsuite_id,
        salesforce_hash: link.salesforce_hash,
        netsuite_hash: link.netsuite_hash,
        salesforce_modstamp: link.salesforce_modstamp,
        netsuite_modstamp: link.netsuite_modstamp,
        synced_at_ms: link.synced_at_ms,
    }
}

pub use grpc::ServeError;

/// Serves the customers service (with gRPC health and reflection) on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    service: CustomerSyncService,
    shared: grpc::Shared,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = CustomerSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let [jobs, reconcile] = grpc::Shared::NAMES;
    grpc::serve(
        "customers",
        listener,
        &["isthmus.customers.v1.CustomerSync", jobs, reconcile],
        |router| shared.add_to(router.add_service(service)),
        shutdown,
    )
    .await
}

//! The customers service: serves `isthmus.customers.v1.CustomerSync` over gRPC, with gRPC health
//! and reflection, on top of the engine's [`CustomerFlows`].
//!
//! This layer checks ids (so malformed input never reaches a vendor, a query or Redis), picks up
//! the trace id from the `traceparent` metadata, and maps engine errors to statuses that carry
//! the shared [`ErrorCode`].

pub mod conflicts;
pub mod erasure;

use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::backfill::BackfillOptions;
use isthmus_engine::customers::jobs::BackfillJob;
use isthmus_engine::customers::{CustomerChange, CustomerFlows};
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_grpc::ids::{netsuite_id, record_id, salesforce_id};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::customers::v1::customer_sync_server::{CustomerSync, CustomerSyncServer};
use isthmus_proto::customers::v1::{
    get_link_request, Backfill, ChangeType, Conflict, GetBackfillRequest, GetConflictRequest,
    GetLinkRequest, Link, ListConflictsRequest, ListConflictsResponse, ResolveConflictRequest,
    StartAccountBackfillRequest, SyncAccountRequest, SyncCustomerRequest,
};
use isthmus_proto::customers::v1::{ErasePersonRequest, Erasure};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use isthmus_telemetry::trace_id_of;
use tonic::{Request, Response, Status};

use isthmus_grpc::convert::{delivery, sync_result};
use isthmus_grpc::{ServiceRoutes, MAX_MESSAGE_BYTES};

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

#[tonic::async_trait]
impl CustomerSync for CustomerSyncService {
    async fn sync_account(
        &self,
        request: Request<SyncAccountRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = salesforce_id(&request.account_id, SObject::Account)?;
        let job = SyncJob::Account {
            account_id: id.clone(),
        };
        let dry_run = self.flows.sync_account(&id, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn sync_customer(
        &self,
        request: Request<SyncCustomerRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let customer_id = netsuite_id(&request.customer_id, "customer")?;
        let change = match ChangeType::try_from(request.change) {
            Ok(ChangeType::Delete) => CustomerChange::Delete,
            Ok(_) => CustomerChange::Upsert,
            Err(_) => {
                return Err(ErrorCode::InvalidArgument
                    .status(format!("unknown change type {}", request.change)))
            }
        };
        let job = SyncJob::Customer {
            customer_id: customer_id.clone(),
            delete: change == CustomerChange::Delete,
        };
        let dry_run = self
            .flows
            .sync_customer(&customer_id, change, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
    }

    async fn get_link(&self, request: Request<GetLinkRequest>) -> Result<Response<Link>, Status> {
        let link = match request.into_inner().key {
            Some(get_link_request::Key::SalesforceId(raw)) => {
                let id = salesforce_id(&raw, SObject::Account)?;
                self.flows.link_by_salesforce(id.as_str()).await?
            }
            Some(get_link_request::Key::NetsuiteId(raw)) => {
                let id = netsuite_id(&raw, "customer")?;
                self.flows.link_by_netsuite(id.as_str()).await?
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
        let id = record_id(&request.into_inner().id, "a backfill id")?;
        let job = self
            .flows
            .backfill_job(&id)
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

    async fn erase_person(
        &self,
        request: Request<ErasePersonRequest>,
    ) -> Result<Response<Erasure>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let answer =
            erasure::erase(&self.flows, &self.log, request.into_inner(), &trace_id).await?;
        Ok(Response::new(answer))
    }

    async fn resolve_conflict(
        &self,
        request: Request<ResolveConflictRequest>,
    ) -> Result<Response<Conflict>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let answer =
            conflicts::resolve(&self.flows, &self.log, request.into_inner(), &trace_id).await?;
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
        parked_conflict_ids: link.parked,
    }
}

/// The customers service's gRPC routes, for [`isthmus_grpc::serve`] (with the shared servers
/// added by the wiring).
pub fn routes(service: CustomerSyncService) -> ServiceRoutes {
    ServiceRoutes::new("customers")
        .with_service(CustomerSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

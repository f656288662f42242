//! The finance service: serves `isthmus.finance.v1.FinanceSync` over gRPC (with gRPC health,
//! reflection and the finance queue's `isthmus.jobs.v1.JobQueue`) on top of the engine's
//! [`FinanceFlows`]. Ids and change types are checked here, before a vendor, a query or Redis.

use std::future::Future;

use isthmus_customers::grpc::{self, MAX_MESSAGE_BYTES};
use isthmus_engine::customers::is_netsuite_id;
use isthmus_engine::finance::{FinanceFlows, Transaction};
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::finance::v1::finance_sync_server::{FinanceSync, FinanceSyncServer};
use isthmus_proto::finance::v1::{
    sync_account_summary_request, SyncAccountSummaryRequest, SyncSubsidiariesRequest,
    SyncSubsidiariesResponse, SyncTransactionRequest, TransactionChange,
};
use isthmus_proto::trace::trace_id_of;
use isthmus_proto::ErrorCode;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

pub use isthmus_customers::grpc::ServeError;

pub struct FinanceSyncService {
    flows: FinanceFlows,
    dispatcher: Dispatcher,
}

impl FinanceSyncService {
    pub fn new(flows: FinanceFlows, dispatcher: Dispatcher) -> Self {
        Self { flows, dispatcher }
    }

    async fn sync(
        &self,
        kind: Transaction,
        request: Request<SyncTransactionRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = request.transaction_id.clone();
        if !is_netsuite_id(&id) {
            return Err(ErrorCode::InvalidArgument.status(format!(
                "'{}' is not a NetSuite transaction id (digits only)",
                id.chars().take(40).collect::<String>().escape_debug()
            )));
        }
        let delete = match TransactionChange::try_from(request.change) {
            Ok(TransactionChange::Delete) => true,
            Ok(_) => false,
            Err(_) => {
                return Err(ErrorCode::InvalidArgument
                    .status(format!("unknown change type {}", request.change)))
            }
        };
        let job = match kind {
            Transaction::Invoice => SyncJob::Invoice {
                invoice_id: id.clone(),
                delete,
            },
            Transaction::CreditMemo => SyncJob::CreditMemo {
                credit_memo_id: id.clone(),
                delete,
            },
            Transaction::Payment => SyncJob::Payment {
                payment_id: id.clone(),
                delete,
            },
        };
        let dry_run = self
            .flows
            .sync_transaction(kind, &id, delete, true, &trace_id);
        let result = self
            .dispatcher
            .deliver(job, request.options.as_ref(), dry_run, &trace_id)
            .await?;
        Ok(Response::new(result))
    }
}

#[tonic::async_trait]
impl FinanceSync for FinanceSyncService {
    async fn sync_invoice(
        &self,
        request: Request<SyncTransactionRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        self.sync(Transaction::Invoice, request).await
    }

    async fn sync_credit_memo(
        &self,
        request: Request<SyncTransactionRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        self.sync(Transaction::CreditMemo, request).await
    }

    async fn sync_payment(
        &self,
        request: Request<SyncTransactionRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        self.sync(Transaction::Payment, request).await
    }

    async fn sync_subsidiaries(
        &self,
        request: Request<SyncSubsidiariesRequest>,
    ) -> Result<Response<SyncSubsidiariesResponse>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let results = self
            .flows
            .sync_subsidiaries(request.into_inner().dry_run, &trace_id)
            .await?;
        Ok(Response::new(SyncSubsidiariesResponse { results }))
    }

    async fn sync_account_summary(
        &self,
        request: Request<SyncAccountSummaryRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let customer = match request.key {
            Some(sync_account_summary_request::Key::CustomerId(id)) => id,
            Some(sync_account_summary_request::Key::AccountId(raw)) => {
                let id = isthmus_customers::parse_account_id(&raw)?;
                self.flows.customer_of_account(id.as_str()).await?
            }
            None => return Err(ErrorCode::InvalidArgument.status("give account_id or customer_id")),
        };
        let dry_run = request.options.is_some_and(|o| o.dry_run);
        let result = self
            .flows
            .sync_account_summary(&customer, dry_run, &trace_id)
            .await?;
        Ok(Response::new(result))
    }
}

/// Serves the finance service (with gRPC health, reflection and the finance queue's jobs API)
/// on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    service: FinanceSyncService,
    shared: grpc::Shared,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = FinanceSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let [jobs, reconcile] = grpc::Shared::NAMES;
    grpc::serve(
        "finance",
        listener,
        &["isthmus.finance.v1.FinanceSync", jobs, reconcile],
        |router| shared.add_to(router.add_service(service)),
        shutdown,
    )
    .await
}

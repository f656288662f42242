//! The finance service: serves `isthmus.finance.v1.FinanceSync` over gRPC (with gRPC health,
//! reflection and the finance queue's `isthmus.jobs.v1.JobQueue`) on top of the engine's
//! [`FinanceFlows`]. Ids and change types are checked here, before a vendor, a query or Redis.

use isthmus_engine::audit::{SyncLog, Trigger};
use isthmus_engine::finance::{FinanceFlows, Transaction};
use isthmus_engine::work::{Dispatcher, SyncJob};
use isthmus_grpc::convert::{delivery, sync_result, sync_results};
use isthmus_grpc::ids::{netsuite_id, salesforce_id};
use isthmus_grpc::{ServiceRoutes, MAX_MESSAGE_BYTES};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::finance::v1::finance_sync_server::{FinanceSync, FinanceSyncServer};
use isthmus_proto::finance::v1::{
    sync_account_summary_request, SyncAccountSummaryRequest, SyncSubsidiariesRequest,
    SyncSubsidiariesResponse, SyncTransactionRequest, TransactionChange,
};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use isthmus_telemetry::trace_id_of;
use tonic::{Request, Response, Status};

pub struct FinanceSyncService {
    flows: FinanceFlows,
    dispatcher: Dispatcher,
    /// Records the syncs this service runs itself (summaries, subsidiaries): every write is in
    /// the audit log, whichever way it was asked for.
    log: SyncLog,
}

impl FinanceSyncService {
    pub fn new(flows: FinanceFlows, dispatcher: Dispatcher, log: SyncLog) -> Self {
        Self {
            flows,
            dispatcher,
            log,
        }
    }

    async fn sync(
        &self,
        kind: Transaction,
        request: Request<SyncTransactionRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let id = netsuite_id(&request.transaction_id, "transaction")?;
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
            .deliver(job, delivery(request.options.as_ref()), dry_run, &trace_id)
            .await?;
        Ok(Response::new(sync_result(result)))
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
        let began = std::time::Instant::now();
        let results = self
            .flows
            .sync_subsidiaries(request.into_inner().dry_run, &trace_id)
            .await?;
        for result in &results {
            self.log.finished(result, Trigger::Request, began).await;
        }
        Ok(Response::new(SyncSubsidiariesResponse {
            results: sync_results(results),
        }))
    }

    async fn sync_account_summary(
        &self,
        request: Request<SyncAccountSummaryRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let request = request.into_inner();
        let customer = match request.key {
            Some(sync_account_summary_request::Key::CustomerId(raw)) => {
                netsuite_id(&raw, "customer")?
            }
            Some(sync_account_summary_request::Key::AccountId(raw)) => {
                let id = salesforce_id(&raw, SObject::Account)?;
                self.flows.customer_of_account(id.as_str()).await?
            }
            None => return Err(ErrorCode::InvalidArgument.status("give account_id or customer_id")),
        };
        let dry_run = request.options.is_some_and(|o| o.dry_run);
        let began = std::time::Instant::now();
        let result = self
            .flows
            .sync_account_summary(&customer, dry_run, &trace_id)
            .await?;
        self.log.finished(&result, Trigger::Request, began).await;
        Ok(Response::new(sync_result(result)))
    }
}

/// The finance service's gRPC routes, for [`isthmus_grpc::serve`] (with the shared servers
/// added by the wiring).
pub fn routes(service: FinanceSyncService) -> ServiceRoutes {
    ServiceRoutes::new("finance")
        .with_service(FinanceSyncServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

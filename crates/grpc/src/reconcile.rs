//! `isthmus.reconcile.v1.Reconciliation`, served by every service for the flows it owns.
//!
//! Requests are checked before anything runs: an unknown flow or drift kind, a flow another
//! service owns, a drift without the ids its kind needs, or ids that are not Salesforce or
//! NetSuite ids are `INVALID_ARGUMENT` and touch nothing.

use std::sync::Arc;

use isthmus_engine::audit::{SyncLog, Trigger};

use isthmus_engine::reconcile::{
    self, Drift, DriftKind, Flow, LastRun, ReconcileOptions, Reconciler, Report,
};
use isthmus_proto::common::v1::SyncResult;
use isthmus_proto::reconcile::v1 as pb;
use isthmus_proto::reconcile::v1::reconciliation_server::Reconciliation;
use isthmus_proto::ErrorCode;
use isthmus_store::StatusValues;
use isthmus_telemetry::trace_id_of;
use tonic::{Request, Response, Status};

/// Drift items one report lists at most.
pub const MAX_ITEMS: u32 = 10_000;

pub struct ReconcileService {
    reconciler: Arc<dyn Reconciler>,
    /// Where each flow's last run is kept.
    statuses: Arc<dyn StatusValues>,
    log: Option<SyncLog>,
}

impl ReconcileService {
    pub fn new(reconciler: Arc<dyn Reconciler>, statuses: Arc<dyn StatusValues>) -> Self {
        Self {
            reconciler,
            statuses,
            log: None,
        }
    }

    /// Records each repair in the audit log and the statistics, as any sync.
    pub fn with_log(mut self, log: SyncLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The flow named in a request, when this service owns it.
    fn owned_flow(&self, name: &str) -> Result<Flow, Status> {
        let flow = Flow::parse(name)?;
        if self.reconciler.flows().contains(&flow) {
            Ok(flow)
        } else {
            Err(ErrorCode::InvalidArgument.status(format!(
                "this service does not reconcile {}: the {} service does",
                flow.as_str(),
                flow.service()
            )))
        }
    }
}

/// The protobuf form of a report.
pub fn report_to_pb(report: &Report) -> pb::ReconcileReport {
    pb::ReconcileReport {
        flow: report.flow.as_str().into(),
        started_at_ms: report.started_at_ms,
        finished_at_ms: report.finished_at_ms,
        links_checked: report.links_checked,
        counts: counts_to_pb(&report.counts),
        drifts: report.drifts.iter().map(drift_to_pb).collect(),
        truncated: report.truncated,
    }
}

fn counts_to_pb(counts: &std::collections::BTreeMap<DriftKind, u64>) -> Vec<pb::DriftCount> {
    counts
        .iter()
        .map(|(kind, count)| pb::DriftCount {
            kind: kind.as_str().into(),
            count: *count,
        })
        .collect()
}

pub fn drift_to_pb(drift: &Drift) -> pb::Drift {
    pb::Drift {
        flow: drift.flow.as_str().into(),
        kind: drift.kind.as_str().into(),
        salesforce_id: drift.salesforce_id.clone(),
        netsuite_id: drift.netsuite_id.clone(),
        field: drift.field.clone(),
        salesforce_value: drift.salesforce_value.clone(),
        netsuite_value: drift.netsuite_value.clone(),
        detail: drift.detail.clone(),
    }
}

/// A drift from a request, with the ids its kind needs checked.
pub fn drift_from_pb(drift: &pb::Drift) -> Result<Drift, Status> {
    let flow = Flow::parse(&drift.flow)?;
    let kind = DriftKind::parse(&drift.kind)?;
    let needs_salesforce = !matches!(kind, DriftKind::UnlinkedInNetsuite);
    let needs_netsuite = !matches!(kind, DriftKind::UnlinkedInSalesforce);
    if needs_salesforce {
        crate::ids::any_salesforce_id(&drift.salesforce_id)?;
    }
    if needs_netsuite || !drift.netsuite_id.is_empty() {
        crate::ids::netsuite_id(&drift.netsuite_id, "drift")?;
    }
    Ok(Drift {
        flow,
        kind,
        salesforce_id: drift.salesforce_id.clone(),
        netsuite_id: drift.netsuite_id.clone(),
        field: drift.field.clone(),
        salesforce_value: drift.salesforce_value.clone(),
        netsuite_value: drift.netsuite_value.clone(),
        detail: drift.detail.clone(),
    })
}

fn last_run_to_pb(run: &LastRun) -> pb::LastRun {
    pb::LastRun {
        flow: run.flow.as_str().into(),
        finished_at_ms: run.finished_at_ms,
        links_checked: run.links_checked,
        counts: counts_to_pb(&run.counts),
    }
}

#[tonic::async_trait]
impl Reconciliation for ReconcileService {
    async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Result<Response<pb::ReconcileReport>, Status> {
        let request = request.into_inner();
        let flow = self.owned_flow(&request.flow)?;
        if request.max_items > MAX_ITEMS {
            return Err(
                ErrorCode::InvalidArgument.status(format!("max_items must be at most {MAX_ITEMS}"))
            );
        }
        let options = ReconcileOptions {
            max_items: match request.max_items {
                0 => reconcile::DEFAULT_MAX_ITEMS,
                n => n as usize,
            },
        };
        let report = reconcile::run_and_keep(
            self.reconciler.as_ref(),
            self.statuses.as_ref(),
            flow,
            &options,
        )
        .await?;
        Ok(Response::new(report_to_pb(&report)))
    }

    async fn repair(
        &self,
        request: Request<pb::RepairRequest>,
    ) -> Result<Response<SyncResult>, Status> {
        let trace_id = trace_id_of(request.metadata());
        let Some(drift) = request.into_inner().drift else {
            return Err(ErrorCode::InvalidArgument.status("drift is required"));
        };
        let drift = drift_from_pb(&drift)?;
        self.owned_flow(drift.flow.as_str())?;
        let began = std::time::Instant::now();
        let result = self.reconciler.repair(&drift, &trace_id).await?;
        if let Some(log) = &self.log {
            log.finished(&result, Trigger::Repair, began).await;
        }
        Ok(Response::new(crate::convert::sync_result(result)))
    }

    async fn last_runs(
        &self,
        _request: Request<pb::LastRunsRequest>,
    ) -> Result<Response<pb::LastRunsResponse>, Status> {
        let owned = self.reconciler.flows();
        let runs = reconcile::last_runs(self.statuses.as_ref())
            .await?
            .iter()
            .filter(|run| owned.contains(&run.flow))
            .map(last_run_to_pb)
            .collect();
        Ok(Response::new(pb::LastRunsResponse { runs }))
    }
}

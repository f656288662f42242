//! Reconciliation routes: run a flow's reconciliation on the service that owns the flow, repair
//! one drift, read the last runs.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use isthmus_engine::reconcile::{self, DriftKind, Flow};
use isthmus_proto::reconcile::v1 as pb;
use isthmus_proto::reconcile::v1::reconciliation_client::ReconciliationClient;
use isthmus_proto::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sync::SyncResultJson;
use super::{answer, grpc_request, query_or_error, store_unavailable, ApiJson};
use crate::{ApiError, Gateway, Service};
use isthmus_telemetry::TracedChannel;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartReconcile {
    /// Drift items listed (default 1000, 1 to 10000); the counts are complete either way.
    #[serde(default)]
    #[schema(inline)]
    pub max_items: Option<crate::bounded::MaxDriftItems>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `table` (plain text, as `isthmus reconcile` prints it).
    #[serde(default)]
    pub format: Option<String>,
}

/// One disagreement between the systems; send it back to `…/repair` to fix it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftJson {
    pub flow: String,
    /// missing_in_salesforce, missing_in_netsuite, unlinked_in_salesforce,
    /// unlinked_in_netsuite, field_differs, status_differs
    pub kind: String,
    #[serde(default)]
    pub salesforce_id: String,
    #[serde(default)]
    pub netsuite_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netsuite_value: Option<String>,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcileReportJson {
    pub flow: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub links_checked: u64,
    /// Every drift kind with its count, zeros included.
    pub counts: std::collections::BTreeMap<String, u64>,
    pub total: u64,
    pub drifts: Vec<DriftJson>,
    pub truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastRunJson {
    pub flow: String,
    pub finished_at_ms: i64,
    pub links_checked: u64,
    pub counts: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastRunsJson {
    pub runs: Vec<LastRunJson>,
}

fn counts_json(counts: &[pb::DriftCount]) -> std::collections::BTreeMap<String, u64> {
    counts.iter().map(|c| (c.kind.clone(), c.count)).collect()
}

fn drift_json(d: pb::Drift) -> DriftJson {
    DriftJson {
        flow: d.flow,
        kind: d.kind,
        salesforce_id: d.salesforce_id,
        netsuite_id: d.netsuite_id,
        field: d.field,
        salesforce_value: d.salesforce_value,
        netsuite_value: d.netsuite_value,
        detail: d.detail,
    }
}

/// The flow named in the path, or `400 INVALID_ARGUMENT`.
pub(crate) fn flow_of(raw: &str) -> Result<Flow, ApiError> {
    Flow::parse(raw).map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))
}

/// The reconciliation client of the service that owns `flow`.
fn client(gateway: &Gateway, flow: Flow) -> ReconciliationClient<TracedChannel> {
    let service = match flow {
        Flow::Customers => Service::Customers,
        Flow::Products => Service::Catalog,
        Flow::Orders => Service::Orders,
        Flow::Invoices => Service::Finance,
    };
    gateway.services.reconciliation(service)
}

/// Compares both systems for one flow across the ID map and lists every drift (JSON, or a
/// table with `?format=table`). Reads only; the counts become the flow's last run.
#[utoipa::path(post, path = "/v1/reconcile/{flow}",
    params(("flow" = String, Path, description = "customers, products, orders or invoices"), ReportQuery),
    request_body = StartReconcile,
    responses((status = 200, body = ReconcileReportJson), (status = 400, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconcile_flow(
    State(gateway): State<Gateway>,
    Path(raw_flow): Path<String>,
    uri: axum::http::Uri,
    ApiJson(body): ApiJson<StartReconcile>,
) -> Result<Response, ApiError> {
    let query: ReportQuery = query_or_error(uri.query())?;
    let table = match query.format.as_deref() {
        None | Some("json") => false,
        Some("table") => true,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "format must be json or table",
            ))
        }
    };
    let flow = flow_of(&raw_flow)?;
    let max_items = body.max_items.map_or(0, |m| m.get_u32());
    let report = run(&gateway, flow, max_items).await?;
    if table {
        let text = report_from_pb(&report, flow).table();
        return Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    Ok(Json(report_json(report)).into_response())
}

/// Reconciles `flow` on the service that owns it, listing at most `max_items` drifts.
pub(crate) async fn run(
    gateway: &Gateway,
    flow: Flow,
    max_items: u32,
) -> Result<pb::ReconcileReport, ApiError> {
    let message = pb::ReconcileRequest {
        flow: flow.as_str().into(),
        max_items,
    };
    let mut request = grpc_request(gateway, message);
    // A reconciliation reads the whole ID map: far longer than one record's sync.
    request.set_timeout(gateway.settings.sync_deadline * 60);
    answer(client(gateway, flow).reconcile(request)).await
}

pub(crate) fn report_json(report: pb::ReconcileReport) -> ReconcileReportJson {
    let total = report.counts.iter().map(|c| c.count).sum();
    ReconcileReportJson {
        flow: report.flow,
        started_at_ms: report.started_at_ms,
        finished_at_ms: report.finished_at_ms,
        links_checked: report.links_checked,
        counts: counts_json(&report.counts),
        total,
        drifts: report.drifts.into_iter().map(drift_json).collect(),
        truncated: report.truncated,
    }
}

/// A report from a service's answer, for its table.
fn report_from_pb(report: &pb::ReconcileReport, flow: Flow) -> reconcile::Report {
    let mut out = reconcile::Report::new(flow);
    out.started_at_ms = report.started_at_ms;
    out.finished_at_ms = report.finished_at_ms;
    out.links_checked = report.links_checked;
    out.truncated = report.truncated;
    for count in &report.counts {
        if let Ok(kind) = DriftKind::parse(&count.kind) {
            out.counts.insert(kind, count.count);
        }
    }
    out.drifts = report
        .drifts
        .iter()
        .filter_map(|d| {
            Some(reconcile::Drift {
                flow,
                kind: DriftKind::parse(&d.kind).ok()?,
                salesforce_id: d.salesforce_id.clone(),
                netsuite_id: d.netsuite_id.clone(),
                field: d.field.clone(),
                salesforce_value: d.salesforce_value.clone(),
                netsuite_value: d.netsuite_value.clone(),
                detail: d.detail.clone(),
            })
        })
        .collect();
    out
}

/// Repairs one drift by re-syncing it from the side that owns the record: send a drift as a
/// report listed it.
#[utoipa::path(post, path = "/v1/reconcile/{flow}/repair",
    params(("flow" = String, Path, description = "customers, products, orders or invoices")),
    request_body = DriftJson,
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn repair_drift(
    State(gateway): State<Gateway>,
    Path(raw_flow): Path<String>,
    ApiJson(drift): ApiJson<DriftJson>,
) -> Result<Json<SyncResultJson>, ApiError> {
    let flow = flow_of(&raw_flow)?;
    if drift.flow != flow.as_str() {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "the drift is of flow '{}', the path names {}",
                isthmus_proto::shown(&drift.flow),
                flow.as_str()
            ),
        ));
    }
    DriftKind::parse(&drift.kind)
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))?;
    let message = pb::RepairRequest {
        drift: Some(pb::Drift {
            flow: drift.flow,
            kind: drift.kind,
            salesforce_id: drift.salesforce_id,
            netsuite_id: drift.netsuite_id,
            field: drift.field,
            salesforce_value: drift.salesforce_value,
            netsuite_value: drift.netsuite_value,
            detail: drift.detail,
        }),
    };
    let result = answer(client(&gateway, flow).repair(grpc_request(&gateway, message))).await?;
    Ok(Json(SyncResultJson::from(result)))
}

/// The counts of every flow's last reconciliation (scheduled or asked for).
#[utoipa::path(get, path = "/v1/reconcile",
    responses((status = 200, body = LastRunsJson)),
    security(("bearer" = [])))]
pub async fn last_runs(State(gateway): State<Gateway>) -> Result<Json<LastRunsJson>, ApiError> {
    let runs = reconcile::last_runs(gateway.store.as_ref())
        .await
        .map_err(store_unavailable)?;
    Ok(Json(LastRunsJson {
        runs: runs.into_iter().map(last_run_json).collect(),
    }))
}

/// Where a flow's current or latest run is (kept 15 minutes after it ends).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressJson {
    pub flow: String,
    /// running | done | failed
    pub state: String,
    /// links | salesforce | netsuite (while running)
    pub phase: String,
    pub links_checked: u64,
    pub drifts: u64,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub error: Option<String>,
}

#[utoipa::path(get, path = "/v1/reconcile/{flow}/progress",
    params(("flow" = String, Path, description = "customers, products, orders or invoices")),
    responses((status = 200, body = ProgressJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody, description = "no run in the last 15 minutes")),
    security(("bearer" = [])))]
pub async fn progress(
    State(gateway): State<Gateway>,
    Path(raw_flow): Path<String>,
) -> Result<Json<ProgressJson>, ApiError> {
    let flow = flow_of(&raw_flow)?;
    let p = reconcile::runs::progress(gateway.store.as_ref(), flow)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "no run of this flow in the last 15 minutes",
            )
        })?;
    Ok(Json(ProgressJson {
        flow: p.flow.as_str().into(),
        state: p.state,
        phase: p.phase,
        links_checked: p.links_checked,
        drifts: p.drifts,
        started_at_ms: p.started_at_ms,
        updated_at_ms: p.updated_at_ms,
        error: p.error,
    }))
}

/// The last report of a flow, with its drifts (to repair them later).
#[utoipa::path(get, path = "/v1/reconcile/{flow}/report",
    params(("flow" = String, Path, description = "customers, products, orders or invoices")),
    responses((status = 200, body = ReconcileReportJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody, description = "the flow never ran")),
    security(("bearer" = [])))]
pub async fn last_report(
    State(gateway): State<Gateway>,
    Path(raw_flow): Path<String>,
) -> Result<Json<ReconcileReportJson>, ApiError> {
    let flow = flow_of(&raw_flow)?;
    let report = reconcile::runs::last_report(gateway.store.as_ref(), flow)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "this flow has not been reconciled yet")
        })?;
    Ok(Json(ReconcileReportJson {
        flow: report.flow.as_str().into(),
        started_at_ms: report.started_at_ms,
        finished_at_ms: report.finished_at_ms,
        links_checked: report.links_checked,
        counts: report
            .counts
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
        total: report.counts.values().sum(),
        drifts: report
            .drifts
            .into_iter()
            .map(|d| DriftJson {
                flow: d.flow.as_str().into(),
                kind: d.kind.as_str().into(),
                salesforce_id: d.salesforce_id,
                netsuite_id: d.netsuite_id,
                field: d.field,
                salesforce_value: d.salesforce_value,
                netsuite_value: d.netsuite_value,
                detail: d.detail,
            })
            .collect(),
        truncated: report.truncated,
    }))
}

/// A flow's runs, newest first (the last 30).
#[utoipa::path(get, path = "/v1/reconcile/{flow}/history",
    params(("flow" = String, Path, description = "customers, products, orders or invoices")),
    responses((status = 200, body = LastRunsJson), (status = 400, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(gateway): State<Gateway>,
    Path(raw_flow): Path<String>,
) -> Result<Json<LastRunsJson>, ApiError> {
    let flow = flow_of(&raw_flow)?;
    let runs = reconcile::runs::history(gateway.store.as_ref(), flow)
        .await
        .map_err(store_unavailable)?;
    Ok(Json(LastRunsJson {
        runs: runs.into_iter().map(last_run_json).collect(),
    }))
}

fn last_run_json(run: reconcile::LastRun) -> LastRunJson {
    LastRunJson {
        flow: run.flow.as_str().into(),
        finished_at_ms: run.finished_at_ms,
        links_checked: run.links_checked,
        counts: run
            .counts
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
    }
}

//! What the gateway reports about the mesh: liveness and readiness, the schedules' last runs,
//! and Prometheus `/metrics`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use isthmus_engine::reconcile;
use isthmus_engine::schedule::{schedule_status, ScheduleStatus};
use isthmus_proto::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::store_unavailable;
use crate::{ApiError, Gateway, Service};

/// The scheduled jobs whose last run `GET /v1/schedules` shows.
const SCHEDULES: [&str; 12] = [
    "customers.delta",
    "customers.doctor",
    "customers.reconcile",
    "catalog.delta",
    "products.reconcile",
    "orders.renewals",
    "orders.reconcile",
    "finance.summaries",
    "finance.subsidiaries",
    "invoices.reconcile",
    "finance.aging",
    "finance.gl_balances",
];

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleJson {
    pub name: String,
    /// `null` until it first ran.
    #[schema(value_type = Option<Object>)]
    pub last_run: Option<ScheduleStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulesJson {
    pub schedules: Vec<ScheduleJson>,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when Redis answers: the gateway can then serve every route whose service is up. A
/// service that does not report SERVING over gRPC health is listed under `degraded` without
/// failing readiness (taking the whole API out of its load balancer would also stop the routes
/// that still work); its own routes answer `503 UNAVAILABLE` until it is back.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready; `degraded` lists the services that are down"),
    (status = 503, description = "the store is down")))]
pub async fn readyz(State(gateway): State<Gateway>) -> Response {
    let store = match gateway.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("down: {e}"),
    };
    let ready = store == "ok";
    let mut checks = serde_json::Map::new();
    checks.insert("store".into(), store.into());
    let services = &gateway.services;
    let states = futures::future::join_all(
        Service::ALL.map(|service| async move { (service, services.serving(service).await) }),
    )
    .await;
    let mut degraded = Vec::new();
    for (service, state) in states {
        if state != "ok" {
            degraded.push(service.as_str());
        }
        checks.insert(service.as_str().into(), state.into());
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready,
        "degraded": degraded,
        "checks": checks,
    });
    (status, Json(body)).into_response()
}

/// The last run of every scheduled job (`schedules.*` in the config; the renewal scan's is
/// `orders.renewals.schedule`).
#[utoipa::path(get, path = "/v1/schedules",
    responses((status = 200, body = SchedulesJson)),
    security(("bearer" = [])))]
pub async fn schedules(State(gateway): State<Gateway>) -> Result<Json<SchedulesJson>, ApiError> {
    let mut schedules = Vec::new();
    for name in SCHEDULES {
        let last_run = schedule_status(gateway.store.as_ref(), name)
            .await
            .map_err(store_unavailable)?;
        schedules.push(ScheduleJson {
            name: name.into(),
            last_run,
        });
    }
    Ok(Json(SchedulesJson { schedules }))
}

/// A "run now" request, as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunRequestedJson {
    pub name: String,
    /// The request's time, which becomes the firing's (`GET /v1/schedules` shows the run).
    pub requested_at_ms: i64,
}

/// Asks the service that runs a schedule to run it now, once (whichever replica takes it, within
/// a few seconds); a schedule that is off (no cron) has no replica to run it.
#[utoipa::path(post, path = "/v1/schedules/{name}/run",
    params(("name" = String, Path, description = "a schedule's name, as GET /v1/schedules lists it")),
    responses((status = 202, body = RunRequestedJson), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn run_schedule(
    State(gateway): State<Gateway>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<(StatusCode, Json<RunRequestedJson>), ApiError> {
    let Some(name) = SCHEDULES.iter().find(|s| **s == name) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no schedule named '{}'", isthmus_proto::shown(&name)),
        ));
    };
    let at = isthmus_engine::schedule::scheduler::request_run(gateway.store.as_ref(), name)
        .await
        .map_err(store_unavailable)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RunRequestedJson {
            name: name.to_string(),
            requested_at_ms: at.timestamp_millis(),
        }),
    ))
}

/// The queues `/metrics` reports (every service's).
const QUEUES: [&str; 4] = ["customers", "catalog", "orders", "finance"];

/// Prometheus text: this process's counters and histograms (syncs, upstream calls), the gauges
/// kept in Redis (queues, NetSuite slots and the limit in force, parked conflicts), and each
/// flow's reconciliation counts from its last run.
pub async fn metrics(State(gateway): State<Gateway>) -> Response {
    isthmus_engine::observe::refresh_gauges(&gateway.store, &QUEUES).await;
    let limit = isthmus_engine::governance::netsuite_limit_in_force(
        gateway.store.as_ref(),
        gateway.settings.netsuite_concurrency_limit,
        gateway.settings.netsuite_adaptive_concurrency,
    )
    .await;
    match limit {
        Ok(limit) => isthmus_telemetry::metrics::NETSUITE_LIMIT.set(i64::from(limit.limit)),
        Err(err) => tracing::warn!(%err, "reading the NetSuite limit for /metrics failed"),
    }
    let runs = reconcile::last_runs(gateway.store.as_ref())
        .await
        .unwrap_or_default();
    let mut text = isthmus_telemetry::metrics::render();
    text.push_str(
        "# HELP isthmus_reconcile_drifts Drifts the last reconciliation of a flow found, by kind.\n\
         # TYPE isthmus_reconcile_drifts gauge\n",
    );
    for run in &runs {
        for (kind, count) in &run.counts {
            text.push_str(&format!(
                "isthmus_reconcile_drifts{{flow=\"{}\",kind=\"{}\"}} {count}\n",
                run.flow.as_str(),
                kind.as_str()
            ));
        }
    }
    text.push_str(
        "# HELP isthmus_reconcile_links_checked Links the last reconciliation of a flow compared.\n\
         # TYPE isthmus_reconcile_links_checked gauge\n",
    );
    for run in &runs {
        text.push_str(&format!(
            "isthmus_reconcile_links_checked{{flow=\"{}\"}} {}\n",
            run.flow.as_str(),
            run.links_checked
        ));
    }
    text.push_str(
        "# HELP isthmus_reconcile_last_run_timestamp_seconds When the last reconciliation of a flow ended.\n\
         # TYPE isthmus_reconcile_last_run_timestamp_seconds gauge\n",
    );
    for run in &runs {
        text.push_str(&format!(
            "isthmus_reconcile_last_run_timestamp_seconds{{flow=\"{}\"}} {}\n",
            run.flow.as_str(),
            run.finished_at_ms as f64 / 1000.0
        ));
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

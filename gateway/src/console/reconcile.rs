//! Reconciliation: each flow's last run; run a flow now (the button says so while it runs),
//! its drifts by kind with both sides' values, repair one or all of them (each through the
//! repair handler, which re-syncs from the side that owns the record).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use isthmus_engine::reconcile::Flow;
use maud::html;
use serde::Deserialize;

use super::session::Session;
use super::view::{self, ago, csrf_field, pill, when};
use super::{action_form, done, error_page, html_page};
use crate::routes::reconcile::{self as api, DriftJson};
use crate::routes::ApiJson;
use crate::{ApiError, Gateway};

/// Drifts a run lists (and "repair all" repairs) at most.
const MAX_DRIFTS: u32 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub msg: Option<String>,
}

pub async fn page(
    State(gateway): State<Gateway>,
    session: Session,
    notice: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let runs = match api::last_runs(State(gateway.clone())).await {
        Ok(runs) => runs.0.runs,
        Err(e) => return error_page(&session, &e),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let body = html! {
        h1 { "Reconciliation" }
        (view::notices(notice.as_ref().ok().and_then(|n| n.0.msg.as_deref()), None))
        table #runs {
            thead { tr { th { "Flow" } th { "Last run" } th.num { "Links checked" } th { "Drift by kind" } th {} } }
            tbody {
                @for flow in Flow::ALL {
                    @let run = runs.iter().find(|r| r.flow == flow.as_str());
                    tr {
                        td { (flow.as_str()) }
                        td { @match run { Some(r) => { (ago(r.finished_at_ms, now)) br; span.mute { (when(r.finished_at_ms)) } } None => span.mute { "never" } } }
                        td.num { @if let Some(r) = run { (r.links_checked) } }
                        td { @if let Some(r) = run { @for (kind, n) in r.counts.iter().filter(|(_, n)| **n > 0) { (kind) " " b { (n) } "  " } @if r.counts.values().all(|n| *n == 0) { span.ok { "none" } } } }
                        td {
                            @if session.can_act() {
                                form.inline method="post" action="/console/reconcile/run" {
                                    (csrf_field(&session)) input type="hidden" name="flow" value=(flow.as_str());
                                    button type="submit" data-busy="Running… (reads the whole ID map)" { "Run now" }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.mute { "A run compares both systems across the ID map and keeps its counts as the flow's last run; it writes nothing. Repairs re-sync from the side that owns the record." }
    };
    html_page(view::page(
        "Reconciliation",
        "Reconciliation",
        &session,
        body,
    ))
}

/// Runs a flow's reconciliation and shows its drifts (a result page: a run writes nothing).
pub async fn run(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let flow = api::flow_of(form.required("flow")?)?;
        Ok::<_, ApiError>((
            flow,
            api::report_json(api::run(&gateway, flow, MAX_DRIFTS).await?),
        ))
    }
    .await;
    let (flow, report) = match outcome {
        Ok(found) => found,
        Err(e) => return error_page(&session, &e),
    };
    let all: Vec<String> = report
        .drifts
        .iter()
        .filter_map(|d| serde_json::to_string(d).ok())
        .collect();
    let body = html! {
        h1 { "Reconciliation of " (flow.as_str()) }
        p { (report.links_checked) " links checked in " (report.finished_at_ms - report.started_at_ms) " ms · " b #drift-total { (report.total) } " drift(s)"
            @if report.truncated { " (the first " (MAX_DRIFTS) " listed)" } }
        p { @for (kind, n) in &report.counts { (kind) " " b { (n) } " · " } }
        @if !report.drifts.is_empty() {
            form method="post" action="/console/reconcile/repair" data-confirm="Repair every listed drift?" {
                (csrf_field(&session)) input type="hidden" name="flow" value=(flow.as_str());
                @for d in &all { input type="hidden" name="drift" value=(d); }
                button #repair-all type="submit" data-busy="Repairing…" { "Repair all listed" }
            }
        }
        table #drifts {
            thead { tr { th { "Kind" } th { "Salesforce" } th { "NetSuite" } th { "Field" } th { "Salesforce value" } th { "NetSuite value" } th { "Detail" } th {} } }
            tbody {
                @if report.drifts.is_empty() { tr { td colspan="8" .ok { "No drift: both systems agree." } } }
                @for (d, json) in report.drifts.iter().zip(&all) {
                    tr {
                        td { (pill(&d.kind)) } td { code { (d.salesforce_id) } } td { code { (d.netsuite_id) } }
                        td { (d.field.as_deref().unwrap_or("")) }
                        td { (d.salesforce_value.as_deref().unwrap_or("—")) } td { (d.netsuite_value.as_deref().unwrap_or("—")) }
                        td.mute { (d.detail) }
                        td {
                            form.inline method="post" action="/console/reconcile/repair" {
                                (csrf_field(&session)) input type="hidden" name="flow" value=(flow.as_str());
                                input type="hidden" name="drift" value=(json);
                                button.plain type="submit" { "Repair" }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/console/reconcile" { "Back" } }
    };
    html_page(view::page(
        "Reconciliation",
        "Reconciliation",
        &session,
        body,
    ))
}

/// Repairs the posted drifts (one, or every listed one), each through the repair handler.
pub async fn repair(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let flow = form.required("flow")?.to_string();
        let drifts = form.all("drift");
        if drifts.is_empty() || drifts.len() > MAX_DRIFTS as usize {
            return Err(ApiError::new(
                isthmus_proto::ErrorCode::InvalidArgument,
                format!("post 1 to {MAX_DRIFTS} drifts"),
            ));
        }
        let parsed = drifts
            .into_iter()
            .map(|d| {
                serde_json::from_str::<DriftJson>(d).map_err(|e| {
                    ApiError::new(
                        isthmus_proto::ErrorCode::InvalidArgument,
                        format!("a drift: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
        for drift in parsed {
            let result =
                api::repair_drift(State(gateway.clone()), Path(flow.clone()), ApiJson(drift))
                    .await?;
            *outcomes
                .entry(result.0.outcome.as_str().to_string())
                .or_default() += 1;
        }
        Ok::<_, ApiError>(outcomes)
    }
    .await;
    match outcome {
        Ok(outcomes) => {
            let summary: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
            done(
                "/console/reconcile",
                &format!(
                    "Repaired: {}. Run the flow again to confirm.",
                    summary.join(", ")
                ),
            )
        }
        Err(e) => error_page(&session, &e),
    }
}

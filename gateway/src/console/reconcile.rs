//! Reconciliation: each flow's last run; run a flow now (in the background: the page follows its
//! progress live), its report's drifts by kind with both sides' values, repair one or all of them
//! (each through the repair handler, which re-syncs from the side that owns the record), and the
//! flow's history of runs.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use isthmus_engine::reconcile::Flow;
use isthmus_proto::ErrorCode;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Session;
use super::view::{self, ago, csrf_field, pill, when};
use super::{action_form, done, error_page, html_page};
use crate::routes::found_json;
use crate::routes::reconcile::{self as api, DriftJson, ReconcileReportJson};
use crate::routes::ApiJson;
use crate::{ApiError, Gateway};

/// Drifts a run lists (and "repair all" repairs) at most.
const MAX_DRIFTS: u32 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    pub flow: Option<String>,
    /// When the console started a run (ms): until the run reports, the page says it is starting.
    pub started: Option<i64>,
    pub msg: Option<String>,
}

pub async fn page(
    State(gateway): State<Gateway>,
    session: Session,
    shown: Result<Query<Shown>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let shown = shown.map(|q| q.0).unwrap_or_default();
    let flow = match shown.flow.as_deref().map(api::flow_of).transpose() {
        Ok(flow) => flow,
        Err(e) => return error_page(&session, &e),
    };
    let g = || State(gateway.clone());
    let looked_up = async {
        let runs = api::last_runs(g()).await?.0.runs;
        let detail = match flow {
            None => None,
            Some(flow) => {
                let path = || Path(flow.as_str().to_string());
                let progress = found_json(api::progress(g(), path()).await)?;
                let report = found_json(api::last_report(g(), path()).await)?;
                let history = api::history(g(), path()).await?.0.runs;
                Some((flow, progress, report, history))
            }
        };
        Ok::<_, ApiError>((runs, detail))
    }
    .await;
    let (runs, detail) = match looked_up {
        Ok(found) => found,
        Err(e) => return error_page(&session, &e),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let body = html! {
        h1 { "Reconciliation" }
        (view::notices(shown.msg.as_deref(), None))
        table #runs data-live {
            thead { tr { th { "Flow" } th { "Last run" } th.num { "Links checked" } th { "Drift by kind" } th {} } }
            tbody {
                @for f in Flow::ALL {
                    @let run = runs.iter().find(|r| r.flow == f.as_str());
                    tr {
                        td { a href={ "/console/reconcile?flow=" (f.as_str()) } { (f.as_str()) } }
                        td { @match run { Some(r) => { (ago(r.finished_at_ms, now)) br; span.mute { (when(r.finished_at_ms)) } } None => span.mute { "never" } } }
                        td.num { @if let Some(r) = run { (r.links_checked) } }
                        td { @if let Some(r) = run { (counts(&r.counts)) } }
                        td {
                            @if session.can_act() {
                                form.inline method="post" action="/console/reconcile/run" {
                                    (csrf_field(&session)) input type="hidden" name="flow" value=(f.as_str());
                                    button type="submit" { "Run now" }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.mute { "A run compares both systems across the ID map and keeps its counts and drifts; it writes nothing. Repairs re-sync from the side that owns the record." }
        @if let Some((flow, progress, report, history)) = &detail {
            div #live-reconcile data-live {
                @let starting = shown.started.is_some_and(|s| progress.as_ref().is_none_or(|p| p.started_at_ms + 1000 < s));
                @if starting {
                    h2 #progress { "Starting the run of " (flow.as_str()) "…" }
                } @else if let Some(p) = progress.as_ref().filter(|p| p.state == "running") {
                    h2 #progress { "Running: " (flow.as_str()) }
                    p { "phase " b { (p.phase) } " · " b { (p.links_checked) } " links checked · " (p.drifts) " drift(s) so far · running for " ((now - p.started_at_ms) / 1000) " s" }
                    div.bar { i style="width:100%;opacity:.35" {} }
                } @else {
                    @if let Some(p) = progress.as_ref().filter(|p| p.state == "failed") {
                        div.error role="alert" { "The last run failed: " (p.error.as_deref().unwrap_or("")) }
                    }
                    @match report {
                        Some(report) => (report_view(&session, *flow, report)),
                        None => p.mute { "This flow has not been reconciled yet." },
                    }
                }
                h2 { "History of " (flow.as_str()) }
                table #history {
                    thead { tr { th { "Finished" } th.num { "Links checked" } th { "Drift by kind" } } }
                    tbody {
                        @if history.is_empty() { tr { td colspan="3" .mute { "No run kept yet." } } }
                        @for r in history { tr { td { (when(r.finished_at_ms)) } td.num { (r.links_checked) } td { (counts(&r.counts)) } } }
                    }
                }
            }
        }
    };
    html_page(view::page(
        "Reconciliation",
        "Reconciliation",
        &session,
        body,
    ))
}

fn counts(counts: &std::collections::BTreeMap<String, u64>) -> Markup {
    html! {
        @for (kind, n) in counts.iter().filter(|(_, n)| **n > 0) { (kind) " " b { (n) } "  " }
        @if counts.values().all(|n| *n == 0) { span.ok { "none" } }
    }
}

fn report_view(session: &Session, flow: Flow, report: &ReconcileReportJson) -> Markup {
    let all: Vec<String> = report
        .drifts
        .iter()
        .filter_map(|d| serde_json::to_string(d).ok())
        .collect();
    html! {
        h2 { "Last run of " (flow.as_str()) }
        p { (when(report.finished_at_ms)) " · " (report.links_checked) " links checked in " (report.finished_at_ms - report.started_at_ms) " ms · " b #drift-total { (report.total) } " drift(s)"
            @if report.truncated { " (the first " (report.drifts.len()) " listed)" } }
        p.mute { "Repairs made since show after the next run." }
        @if session.can_act() && !report.drifts.is_empty() {
            form method="post" action="/console/reconcile/repair" data-confirm="Repair every listed drift?" {
                (csrf_field(session)) input type="hidden" name="flow" value=(flow.as_str());
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
                            @if session.can_act() {
                                form.inline method="post" action="/console/reconcile/repair" {
                                    (csrf_field(session)) input type="hidden" name="flow" value=(flow.as_str());
                                    input type="hidden" name="drift" value=(json);
                                    button.plain type="submit" { "Repair" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Starts a flow's reconciliation in the background (the service does the work and keeps the
/// report) and shows its page, which follows the run.
pub async fn run(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let flow = match form.required("flow").and_then(api::flow_of) {
        Ok(flow) => flow,
        Err(e) => return error_page(&session, &e),
    };
    let started = chrono::Utc::now().timestamp_millis();
    let runner = gateway.clone();
    tokio::spawn(async move {
        if let Err(err) = api::run(&runner, flow, MAX_DRIFTS).await {
            tracing::warn!(flow = flow.as_str(), message = %err.message, "console reconciliation failed");
        }
    });
    done(
        &format!(
            "/console/reconcile?flow={}&started={started}",
            flow.as_str()
        ),
        &format!("Reconciliation of {} started.", flow.as_str()),
    )
}

/// Repairs the posted drifts (one, or every listed one), each through the repair handler.
pub async fn repair(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let flow = api::flow_of(form.required("flow")?)?;
        let drifts = form.all("drift");
        if drifts.is_empty() || drifts.len() > MAX_DRIFTS as usize {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!("post 1 to {MAX_DRIFTS} drifts"),
            ));
        }
        let parsed = drifts
            .into_iter()
            .map(|d| {
                serde_json::from_str::<DriftJson>(d)
                    .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, format!("a drift: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
        for drift in parsed {
            let result = api::repair_drift(
                State(gateway.clone()),
                Path(flow.as_str().to_string()),
                ApiJson(drift),
            )
            .await?;
            *outcomes
                .entry(result.0.outcome.as_str().to_string())
                .or_default() += 1;
        }
        Ok::<_, ApiError>((flow, outcomes))
    }
    .await;
    match outcome {
        Ok((flow, outcomes)) => {
            let summary: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
            done(
                &format!("/console/reconcile?flow={}", flow.as_str()),
                &format!(
                    "Repaired: {}. Run the flow again to confirm.",
                    summary.join(", ")
                ),
            )
        }
        Err(e) => error_page(&session, &e),
    }
}

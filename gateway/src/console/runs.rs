//! Runs: start an account backfill, a catalog run (full or delta) or a renewal scan, and follow
//! the latest backfill and catalog run (or one by id) with a live progress bar; the scheduled
//! runs (deltas, renewal scans, summaries, reconciliations) with their last firing.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Session;
use super::view::{self, ago, csrf_field, pill, progress, when};
use super::{action_form, done, error_page, html_page};
use crate::routes::found_json;
use crate::routes::{catalog, observe, ops, orders, ApiJson};
use crate::{ApiError, Gateway};

#[derive(Debug, Default, Deserialize)]
pub struct Follow {
    pub backfill: Option<String>,
    pub catalog: Option<String>,
    pub msg: Option<String>,
}

pub async fn page(
    State(gateway): State<Gateway>,
    session: Session,
    follow: Result<Query<Follow>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let follow = follow.map(|q| q.0).unwrap_or_default();
    let g = || State(gateway.clone());
    // The run asked for, else the latest of its kind.
    let backfill = match &follow.backfill {
        Some(id) => ops::get_backfill(g(), axum::extract::Path(id.clone())).await,
        None => ops::latest_backfill(g()).await,
    };
    let catalog_run = match &follow.catalog {
        Some(id) => catalog::get_catalog_run(g(), axum::extract::Path(id.clone())).await,
        None => catalog::latest_catalog_run(g()).await,
    };
    let (backfill, catalog_run) = match (found_json(backfill), found_json(catalog_run)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => return error_page(&session, &e),
    };
    let schedules = match observe::schedules(g()).await {
        Ok(Json(s)) => s.schedules,
        Err(e) => return error_page(&session, &e),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let body = html! {
        h1 { "Runs" }
        (view::notices(follow.msg.as_deref(), None))
        div #live-runs data-live {
            @if let Some(b) = &backfill {
                h2 { "Account backfill " code { (b.id) } " " (pill(&b.state)) }
                (progress(b.created + b.updated + b.unchanged + b.conflicts + b.failed + b.queued, Some(b.seen.max(1))))
                p #backfill-counts { "seen " b { (b.seen) } " · created " b { (b.created) } " · updated " b { (b.updated) } " · unchanged " (b.unchanged) " · conflicts " (b.conflicts) " · failed " (b.failed) " · queued for retry " (b.queued) " · written back " (b.written_back) }
                p.mute { "started " (when(b.started_at_ms)) @if b.finished_at_ms > 0 { " · finished " (when(b.finished_at_ms)) } }
                @for e in &b.errors { p.bad { (e) } }
            }
            @if let Some(r) = &catalog_run {
                h2 { "Catalog run (" (r.mode) ") " code { (r.id) } " " (pill(&r.state)) }
                (progress(r.created + r.updated + r.unchanged + r.deactivated + r.failed, Some(r.seen.max(1))))
                p #catalog-counts { "seen " b { (r.seen) } " · created " (r.created) " · updated " (r.updated) " · unchanged " (r.unchanged) " · deactivated " (r.deactivated) " · failed " (r.failed) " · prices written " (r.prices_written) }
                @for e in &r.errors { p.bad { (e) } }
            }
        }
        @if session.can_act() {
            h2 { "Start" }
            (start_form(&session, "backfill", "Account backfill", html! {
                label { input type="checkbox" name="all" value="1"; " include accounts already linked" } " "
                label { "limit " input type="text" name="limit" size="6"; }
            }))
            (start_form(&session, "catalog", "Catalog run", html! {
                label { select name="mode" { option value="delta" { "delta" } option value="full" { "full" } } }
            }))
            (start_form(&session, "renewals", "Renewal scan", html! {
                label { "within days " input type="text" name="within_days" size="4"; } " "
                label { input type="checkbox" name="dry_run" value="1"; " dry run" }
            }))
        }
        h2 { "Scheduled" }
        table #schedules data-live {
            thead { tr { th { "Schedule" } th { "Cron (UTC)" } th { "Last firing" } th { "Outcome" } th {} } }
            tbody {
                @for s in &schedules {
                    @let expr = cron(&gateway, &s.name);
                    tr data-name=(s.name) {
                        td { (s.name) }
                        td { @if expr.is_empty() { span.mute { "off" } } @else { code { (expr) } } }
                        td { @match &s.last_run { Some(r) => (ago(r.started_at.timestamp_millis(), now)), None => span.mute { "never" } } }
                        td { @if let Some(r) = &s.last_run { (pill(&format!("{:?}", r.outcome).to_lowercase())) @if let Some(e) = &r.error { " " span.bad { (e) } } } }
                        td {
                            @if session.can_act() && !expr.is_empty() {
                                form.inline method="post" action="/console/runs/start" {
                                    (csrf_field(&session))
                                    input type="hidden" name="kind" value="schedule";
                                    input type="hidden" name="name" value=(s.name);
                                    button.plain type="submit" { "Run now" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(view::page("Runs", "Runs", &session, body))
}

/// The cron expression a schedule runs on ("" when off).
fn cron(gateway: &Gateway, name: &str) -> String {
    gateway
        .console
        .as_ref()
        .and_then(|c| c.schedules.iter().find(|(n, _)| n == name))
        .map(|(_, expr)| expr.clone())
        .unwrap_or_default()
}

fn start_form(session: &Session, kind: &str, title: &str, fields: Markup) -> Markup {
    html! {
        form.filters method="post" action="/console/runs/start" id={ "start-" (kind) } {
            (csrf_field(session))
            input type="hidden" name="kind" value=(kind);
            b style="min-width:140px" { (title) }
            (fields)
            button type="submit" data-busy="Starting…" { "Start" }
        }
    }
}

pub async fn start(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let invalid = |m: &str| ApiError::new(isthmus_proto::ErrorCode::InvalidArgument, m.to_string());
    let text = |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty());
    let g = State(gateway.clone());
    let outcome: Result<Response, ApiError> = async {
        match form.required("kind")? {
            "backfill" => {
                let options = ops::StartBackfill {
                    all: form.get("all") == Some("1"),
                    limit: form_number(text("limit"), "limit")?,
                };
                let (_, Json(job)) = ops::start_account_backfill(g, ApiJson(options)).await?;
                Ok(done(
                    &format!("/console/runs?backfill={}", job.id),
                    "Backfill started.",
                ))
            }
            "catalog" => {
                let mode = match form.get("mode").unwrap_or("delta") {
                    "full" => catalog::CatalogRunMode::Full,
                    "delta" => catalog::CatalogRunMode::Delta,
                    _ => return Err(invalid("mode must be full or delta")),
                };
                let (_, Json(run)) = catalog::start_catalog_run(
                    g,
                    ApiJson(catalog::StartCatalogRun { mode, limit: None }),
                )
                .await?;
                Ok(done(
                    &format!("/console/runs?catalog={}", run.id),
                    "Catalog run started.",
                ))
            }
            "renewals" => {
                let scan = orders::ScanRenewals {
                    within_days: form_number(text("within_days"), "within_days")?,
                    dry_run: form.get("dry_run") == Some("1"),
                };
                let Json(found) = orders::scan_renewals(g, ApiJson(scan)).await?;
                let created = found
                    .results
                    .iter()
                    .filter(|r| r.outcome.as_str() == "created")
                    .count();
                Ok(done(
                    "/console/runs",
                    &format!(
                        "Renewal scan: {} order(s) expiring, {created} renewal(s) raised.",
                        found.results.len()
                    ),
                ))
            }
            "schedule" => {
                let name = form.required("name")?.to_string();
                let (_, Json(asked)) = observe::run_schedule(g, axum::extract::Path(name)).await?;
                Ok(done(
                    "/console/runs",
                    &format!("{} will run within seconds.", asked.name),
                ))
            }
            _ => Err(invalid(
                "kind must be backfill, catalog, renewals or schedule",
            )),
        }
    }
    .await;
    outcome.unwrap_or_else(|e| error_page(&session, &e))
}

/// A number field of a form, checked against the range of the API field it fills.
fn form_number<const MIN: u64, const MAX: u64>(
    raw: Option<&str>,
    name: &str,
) -> Result<Option<crate::bounded::Bounded<MIN, MAX>>, ApiError> {
    raw.map(|v| {
        v.parse().map_err(|e: String| {
            ApiError::new(
                isthmus_proto::ErrorCode::InvalidArgument,
                format!("{name}: {e}"),
            )
        })
    })
    .transpose()
}

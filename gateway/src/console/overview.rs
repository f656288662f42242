//! Overview: per flow, syncs in the last hour and day by outcome, success rate, latency and the
//! last error; the day's syncs and Salesforce allocation as charts; NetSuite slots and the
//! concurrency limit in force (learned or fixed, against the configured ceiling); every
//! service's queue; parked conflicts; the schema doctor's last report (each problem with the
//! configuration key that needs it and its fix); the last reconciliation per flow; schedules.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use futures::future::join_all;
use isthmus_engine::doctor::DoctorReport;
use isthmus_engine::schedule::cron::Schedule;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Session;
use super::view::{self, ago, pill};
use super::{error_page, html_page};
use crate::routes::{conflicts, doctor, jobs, observe, ops, reconcile, stats};
use crate::{Gateway, Service};

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub msg: Option<String>,
}

pub async fn page(
    State(gateway): State<Gateway>,
    session: Session,
    notice: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let g = || State(gateway.clone());
    let (stats, governance, queues, parked, runs, schedules, schema) = tokio::join!(
        stats::stats(g()),
        ops::governance(g()),
        join_all(Service::ALL.map(|service| {
            let query = jobs::ServiceQuery {
                service: Some(service),
                reason: None,
            };
            jobs::queue_depth(g(), Ok(Query(query)))
        })),
        conflicts::list(
            &gateway,
            conflicts::ConflictFilter {
                state: Some(conflicts::StateFilter::Parked),
                limit: Some(crate::bounded::Bounded::saturating(1)),
                offset: None,
            }
        ),
        reconcile::last_runs(g()),
        observe::schedules(g()),
        doctor::last_report::<DoctorReport>(&gateway),
    );
    let result = (|| {
        Ok::<_, crate::ApiError>((
            stats?.0,
            governance?.0,
            queues.into_iter().collect::<Result<Vec<_>, _>>()?,
            parked?.1,
            runs?.0,
            schedules?.0,
            schema?,
        ))
    })();
    let (stats, governance, queues, parked, runs, schedules, schema) = match result {
        Ok(found) => found,
        Err(error) => return error_page(&session, &error),
    };
    let now = stats.now_ms;
    let dead: u64 = queues.iter().map(|q| q.0.dead).sum();
    let cron = |name: &str| {
        gateway
            .console
            .as_ref()
            .and_then(|c| c.schedules.iter().find(|(n, _)| n == name))
            .map(|(_, expr)| expr.clone())
            .unwrap_or_default()
    };
    let body = html! {
        h1 { "Overview" }
        (view::notices(notice.as_ref().ok().and_then(|n| n.msg.as_deref()), None))
        div #live-cards .cards data-live {
            (card("Dead letters", &dead.to_string(), "/console/dead-letters"))
            (card("Parked conflicts", &parked.to_string(), "/console/conflicts"))
            (card("NetSuite slots in use", &format!("{} / {}", governance.netsuite.slots_in_use, governance.netsuite.limit_in_force), "/console/runs"))
            (card(&netsuite_limit_label(&governance.netsuite), &netsuite_limit(&governance.netsuite), "/console"))
            @match &governance.salesforce {
                Some(a) => (card("Salesforce API used / left", &format!("{} / {}", a.used, a.max.saturating_sub(a.used)), "/console")),
                None => (card("Salesforce API", "not seen yet", "/console")),
            }
            @if let Some(hold) = &governance.salesforce_hold {
                (card("Salesforce allocation spent: work held", &format!("{} holds, next try in {} s", hold.hold.holds, hold.retry_after_s), "/console"))
            }
            (card("Schema problems", &schema.as_ref().map_or("not checked".into(), |r| r.problems.len().to_string()), "/console#schema"))
        }
        h2 { "Syncs, last 24 hours" }
        div.charts {
            div.chart {
                b { "Syncs per hour by outcome" }
                (hourly_chart(&stats, now))
            }
            div.chart {
                b { "Salesforce API allocation used over the day" }
                @let max = stats.allocation.iter().map(|a| a.max).max().unwrap_or(0) as f64;
                @let points: Vec<(f64, f64)> = stats.allocation.iter().map(|a| (1.0 - ((now - a.start_ms) as f64 / 86_400_000.0).clamp(0.0, 1.0), a.used as f64)).collect();
                (view::line_chart(&points, max, "Salesforce API calls used"))
            }
        }
        h2 { "Flows" }
        table #flows {
            thead { tr { th { "Flow" } th { "Last hour" } th.num { "Success" } th.num { "p50 / p95" } th { "Last 24 h" } th.num { "Success" } th { "Last error" } } }
            tbody {
                @if stats.flows.is_empty() { tr { td colspan="7" .mute { "No syncs in the last day." } } }
                @for flow in &stats.flows {
                    tr {
                        td { code { (flow.flow) } }
                        td { (outcomes(&flow.last_hour)) }
                        td.num { (rate(flow.last_hour.success_rate)) }
                        td.num { (ms(flow.last_hour.p50_ms)) " / " (ms(flow.last_hour.p95_ms)) }
                        td { (outcomes(&flow.last_day)) }
                        td.num { (rate(flow.last_day.success_rate)) }
                        td {
                            @if let Some(e) = &flow.last_error {
                                span.bad { (e.error) } br; span.mute { (ago(e.at_ms, now)) " · trace " code { (e.trace_id) } }
                            } @else { span.mute { "—" } }
                        }
                    }
                }
            }
        }
        h2 { "Queues" }
        table #queues data-live {
            thead { tr { th { "Service" } th.num { "Interactive" } th { "oldest waiting" } th.num { "Batch" } th { "oldest waiting" } th.num { "Delayed (retry)" } th.num { "In flight" } th.num { "Dead" } } }
            tbody {
                @for (service, depth) in Service::ALL.iter().zip(&queues) {
                    tr {
                        td { (service.as_str()) }
                        td.num { (depth.0.interactive) } td.mute { (waiting(depth.0.oldest_interactive_ms, now)) }
                        td.num { (depth.0.batch) } td.mute { (waiting(depth.0.oldest_batch_ms, now)) }
                        td.num { (depth.0.delayed) }
                        td.num { (depth.0.pending) }
                        td.num { a href={ "/console/dead-letters?service=" (service.as_str()) } { (depth.0.dead) } }
                    }
                }
            }
        }
        h2 #schema { "Schema" }
        (schema_report(schema.as_ref(), now))
        h2 { "Reconciliation" }
        table {
            thead { tr { th { "Flow" } th { "Last run" } th.num { "Links checked" } th { "Drift" } } }
            tbody {
                @if runs.runs.is_empty() { tr { td colspan="4" .mute { "No reconciliation has run yet." } } }
                @for run in &runs.runs {
                    tr {
                        td { (run.flow) } td { (ago(run.finished_at_ms, now)) } td.num { (run.links_checked) }
                        td { @for (kind, n) in run.counts.iter().filter(|(_, n)| **n > 0) { (kind) " " b { (n) } "  " } @if run.counts.values().all(|n| *n == 0) { span.ok { "none" } } }
                    }
                }
            }
        }
        h2 { "Schedules" }
        table {
            thead { tr { th { "Schedule" } th { "Cron (UTC)" } th { "Next" } th { "Last" } } }
            tbody {
                @for schedule in &schedules.schedules {
                    @let expr = schedule.last_run.as_ref().map(|r| r.expression.clone()).filter(|e| !e.is_empty()).unwrap_or_else(|| cron(&schedule.name));
                    tr {
                        td { (schedule.name) }
                        td { @if expr.is_empty() { span.mute { "off" } } @else { code { (expr) } } }
                        td { (next_firing(&expr)) }
                        td {
                            @match &schedule.last_run {
                                Some(run) => { (ago(run.started_at.timestamp_millis(), now)) " " (pill(&format!("{:?}", run.outcome).to_lowercase())) @if let Some(error) = &run.error { " " span.bad { (error) } } }
                                None => span.mute { "never" },
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(view::page("Overview", "Overview", &session, body))
}

/// The NetSuite limit in force against the configured ceiling C.
fn netsuite_limit(netsuite: &ops::NetSuiteGovernance) -> String {
    format!(
        "{} of {}",
        netsuite.limit_in_force, netsuite.concurrency_limit
    )
}

/// What the limit card says of where the limit comes from: learned (and the level last refused)
/// or fixed.
fn netsuite_limit_label(netsuite: &ops::NetSuiteGovernance) -> String {
    match (netsuite.adaptive_concurrency, netsuite.refused_at) {
        (false, _) => "NetSuite concurrency limit (fixed)".into(),
        (true, None) => "NetSuite limit learned, nothing refused".into(),
        (true, Some(level)) => format!("NetSuite limit learned, {level} last refused"),
    }
}

/// The schema doctor's last report: when it ran and what it checked, and each problem with the
/// configuration key that needs the field and how to fix it.
fn schema_report(report: Option<&DoctorReport>, now: i64) -> Markup {
    let Some(report) = report else {
        return html! {
            p.mute { "The schema doctor has not run yet. Set " code { "schedules.doctor" } ", run "
                code { "customers.doctor" } " from the schedules below, or run " code { "isthmus doctor" } "." }
        };
    };
    html! {
        p {
            "Checked " (ago(report.checked_at_ms, now)) ": " (report.checked) " fields against Salesforce "
            code { "describe" } " and NetSuite's record metadata. "
            @if report.ok { span.ok { "Every mapped field, value and external id is there." } }
            @else { span.bad { (report.problems.len()) " problem(s): syncs that need them will fail." } }
        }
        @if !report.ok {
            table #schema-problems {
                thead { tr { th { "Side" } th { "Field" } th { "Problem" } th { "Needed by" } th { "Fix" } } }
                tbody {
                    @for problem in &report.problems {
                        tr {
                            td { (problem.side.as_str()) }
                            td { code { (problem.object) "." (problem.field) } @if let Some(value) = &problem.value { " value " code { (value) } } }
                            td { span.bad { (problem.detail) } }
                            td { code { (problem.config_key) } }
                            td { (problem.fix) }
                        }
                    }
                }
            }
        }
    }
}

fn card(label: &str, value: &str, href: &str) -> Markup {
    html! { a.card href=(href) style="text-decoration:none;color:inherit" { div.n { (value) } div.l { (label) } } }
}

fn outcomes(window: &stats::WindowJson) -> Markup {
    html! {
        @if window.outcomes.is_empty() { span.mute { "—" } }
        @for (outcome, n) in &window.outcomes { (pill(outcome)) " " (n) "  " }
    }
}

/// How long the oldest job of a lane has waited.
fn waiting(since_ms: Option<i64>, now: i64) -> String {
    since_ms.map_or("—".into(), |ms| ago(ms, now).replace(" ago", ""))
}

fn rate(rate: Option<f64>) -> String {
    rate.map_or("—".into(), |r| format!("{:.1} %", r * 100.0))
}

fn ms(ms: Option<u64>) -> String {
    match ms {
        None => "—".into(),
        Some(u64::MAX) => "> 30 s".into(),
        Some(ms) => format!("≤ {ms} ms"),
    }
}

fn next_firing(expr: &str) -> String {
    if expr.is_empty() {
        return "—".into();
    }
    Schedule::parse(expr)
        .ok()
        .and_then(|s| s.next_after(Utc::now()))
        .map_or("—".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// The day's timeline in 24 hourly bars.
fn hourly_chart(stats: &stats::StatsJson, now: i64) -> Markup {
    let mut slots: Vec<std::collections::BTreeMap<String, u64>> = vec![Default::default(); 24];
    for bucket in &stats.timeline {
        let hours_ago = ((now - bucket.start_ms) / 3_600_000).clamp(0, 23) as usize;
        for (outcome, n) in &bucket.outcomes {
            *slots[23 - hours_ago].entry(outcome.clone()).or_default() += n;
        }
    }
    let slots: Vec<Vec<(String, u64)>> =
        slots.into_iter().map(|s| s.into_iter().collect()).collect();
    view::stacked_bars(&slots, &["24 h ago".to_string(), "now".to_string()])
}

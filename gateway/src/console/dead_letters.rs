//! Dead letters: filter by service, flow (job kind), error class, error code, error text and
//! age (the class, code and text filters apply within the newest 500 of the kind and age); inspect
//! one (payload, attempts, each error, trace); replay one, the selected or all matching the
//! filter; discard with a reason. Replays and discards name the signed-in key in the audit log
//! (the jobs API records it).

use crate::bounded::Bounded;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;

use super::form::Form;
use super::session::Session;
use super::view::{self, csrf_field, pill, when};
use super::{action_form, done, error_page, html_page};
use crate::routes::{jobs, DeadLetterJson};
use crate::{ApiError, Gateway, Service};

/// Letters one page lists.
const PAGE: u32 = 50;
/// Letters a filter reads at most (the error filters apply within them), and "replay all"
/// replays at most per click.
const WINDOW: u32 = 500;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct Filter {
    pub service: Option<String>,
    /// Job kind, e.g. `customers.sync_account`.
    pub kind: Option<String>,
    /// `retryable` or `permanent`.
    pub class: Option<String>,
    /// The stable error code, e.g. `UPSTREAM_ERROR`.
    pub code: Option<String>,
    /// Text the error contains (case-insensitive).
    pub error: Option<String>,
    /// Failed within the last this many hours.
    pub within_h: Option<u32>,
    pub offset: Option<u32>,
    pub msg: Option<String>,
}

fn service_of(raw: Option<&str>) -> Result<Service, ApiError> {
    match raw.unwrap_or("") {
        "" => Ok(Service::Customers),
        raw => Service::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ApiError::new(
                    isthmus_proto::ErrorCode::InvalidArgument,
                    "service must be customers, catalog, orders or finance",
                )
            }),
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The letters matching `filter`: at most `limit` after `offset`. Service, kind and age page on
/// the service's list itself; the class, code and text filters apply here, within the newest
/// `WINDOW` letters of that list.
async fn matching(
    gateway: &Gateway,
    filter: &Filter,
    offset: u32,
    limit: u32,
) -> Result<Vec<DeadLetterJson>, ApiError> {
    let service = service_of(non_empty(&filter.service))?;
    let since_ms = filter
        .within_h
        .filter(|h| *h > 0)
        .map(|h| chrono::Utc::now().timestamp_millis() - i64::from(h.min(24 * 365)) * 3_600_000);
    let class = non_empty(&filter.class);
    let code = non_empty(&filter.code);
    let needle = non_empty(&filter.error).map(str::to_lowercase);
    let filtered_here = class.is_some() || code.is_some() || needle.is_some();
    let (list_offset, list_limit, offset) = if filtered_here {
        (0, WINDOW, offset)
    } else {
        (offset, limit, 0)
    };
    let query = jobs::DeadLetterFilter {
        service: Some(service),
        kind: non_empty(&filter.kind).map(str::to_string),
        since_ms: since_ms.map(|ms| Bounded::saturating(ms.max(0).unsigned_abs())),
        limit: Some(Bounded::saturating(list_limit.into())),
        offset: Some(Bounded::saturating(list_offset.into())),
    };
    let letters = jobs::list_dead_letters(State(gateway.clone()), Ok(Query(query)))
        .await?
        .0;
    Ok(letters
        .into_iter()
        .filter(|l| class.is_none_or(|c| l.error_class == c))
        .filter(|l| code.is_none_or(|c| l.error_code.eq_ignore_ascii_case(c)))
        .filter(|l| {
            needle
                .as_ref()
                .is_none_or(|n| l.error.to_lowercase().contains(n))
        })
        .skip(offset as usize)
        .take(limit as usize)
        .collect())
}

fn filter_query(filter: &Filter) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("service", non_empty(&filter.service)),
        ("kind", non_empty(&filter.kind)),
        ("class", non_empty(&filter.class)),
        ("code", non_empty(&filter.code)),
        ("error", non_empty(&filter.error)),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={}", super::url_encode(value)));
        }
    }
    if let Some(h) = filter.within_h.filter(|h| *h > 0) {
        parts.push(format!("within_h={h}"));
    }
    parts.join("&")
}

pub async fn list(
    State(gateway): State<Gateway>,
    session: Session,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(filter)) = filter else {
        return error_page(
            &session,
            &ApiError::new(
                isthmus_proto::ErrorCode::InvalidArgument,
                "the filter could not be read",
            ),
        );
    };
    let offset = filter.offset.unwrap_or(0);
    let letters = match matching(&gateway, &filter, offset, PAGE).await {
        Ok(l) => l,
        Err(e) => return error_page(&session, &e),
    };
    let service = service_of(non_empty(&filter.service)).unwrap_or_default();
    let query = filter_query(&filter);
    let body = html! {
        h1 { "Dead letters" }
        (view::notices(filter.msg.as_deref(), None))
        (filter_form(&filter))
        @if session.can_act() {
            form #replay-all method="post" action="/console/dead-letters/replay" data-confirm="Replay every dead letter matching this filter?" {
                (csrf_field(&session)) (filter_fields(&filter))
                input type="hidden" name="all" value="1";
                button.plain type="submit" { "Replay all matching (up to " (WINDOW) ")" }
            }
        }
        form #selected method="post" action="/console/dead-letters/replay" {
            @if session.can_act() { (csrf_field(&session)) input type="hidden" name="service" value=(service.as_str()); }
            table #letters {
                thead { tr { @if session.can_act() { th {} } th { "Failed" } th { "Kind" } th { "Error" } th { "Class / code" } th.num { "Attempts" } th { "Trace" } th {} } }
                tbody {
                    @if letters.is_empty() { tr { td colspan="8" .mute { "No dead letter matches." } } }
                    @for l in &letters {
                        tr data-id=(l.id) {
                            @if session.can_act() { td { input type="checkbox" name="id" value=(l.id) aria-label="select"; } }
                            td { (when(l.failed_at_ms)) }
                            td { code { (l.kind) } }
                            td.bad { (l.error) }
                            td { (pill(&l.error_class)) " " code { (l.error_code) } }
                            td.num { (l.attempts) }
                            td { code { (l.trace_id) } }
                            td { a href={ "/console/dead-letters/" (service.as_str()) "/" (l.id) } { "Inspect" } }
                        }
                    }
                }
            }
            @if session.can_act() && !letters.is_empty() { p { button type="submit" { "Replay selected" } } }
        }
        p {
            @if offset > 0 { a href={ "/console/dead-letters?" (query) "&offset=" (offset.saturating_sub(PAGE)) } { "← Newer" } " " }
            @if letters.len() as u32 == PAGE { a href={ "/console/dead-letters?" (query) "&offset=" (offset + PAGE) } { "Older →" } }
        }
    };
    html_page(view::page("Dead letters", "Dead letters", &session, body))
}

fn filter_fields(filter: &Filter) -> Markup {
    html! {
        @for (name, value) in [("service", non_empty(&filter.service)), ("kind", non_empty(&filter.kind)), ("class", non_empty(&filter.class)), ("code", non_empty(&filter.code)), ("error", non_empty(&filter.error))] {
            @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
        }
        @if let Some(h) = filter.within_h { input type="hidden" name="within_h" value=(h); }
    }
}

fn filter_form(filter: &Filter) -> Markup {
    let service = non_empty(&filter.service).unwrap_or("customers");
    let class = non_empty(&filter.class).unwrap_or("");
    html! {
        form.filters #filter method="get" action="/console/dead-letters" {
            label { "Service" select name="service" { @for s in Service::ALL { option value=(s.as_str()) selected[s.as_str() == service] { (s.as_str()) } } } }
            label { "Flow (job kind)" input type="text" name="kind" value=(non_empty(&filter.kind).unwrap_or("")) placeholder="customers.sync_account"; }
            label { "Error class" select name="class" { option value="" { "any" } @for c in ["retryable", "permanent"] { option value=(c) selected[c == class] { (c) } } } }
            label { "Error code" input type="text" name="code" size="16" value=(non_empty(&filter.code).unwrap_or("")) placeholder="UPSTREAM_ERROR"; }
            label { "Error contains" input type="text" name="error" value=(non_empty(&filter.error).unwrap_or("")); }
            label { "Failed within (hours)" input type="text" name="within_h" size="5" value=[filter.within_h]; }
            button type="submit" { "Filter" }
        }
    }
}

pub async fn inspect(
    State(gateway): State<Gateway>,
    session: Session,
    Path((service, id)): Path<(String, String)>,
) -> Response {
    let looked_up = async {
        let service = service_of(Some(&service))?;
        let query = jobs::ServiceQuery {
            service: Some(service),
            reason: None,
        };
        let letter =
            jobs::get_dead_letter(State(gateway.clone()), Path(id.clone()), Ok(Query(query)))
                .await?
                .0;
        // The job record holds each attempt's error (it may have expired: then only the last).
        let job = jobs::get_job_of(&gateway, service, &id).await.ok();
        Ok::<_, ApiError>((service, letter, job))
    }
    .await;
    let (service, letter, job) = match looked_up {
        Ok(found) => found,
        Err(e) => return error_page(&session, &e),
    };
    let payload = serde_json::to_string_pretty(&letter.payload).unwrap_or_default();
    let body = html! {
        h1 { "Dead letter " code { (letter.id) } }
        table {
            tr { th { "Kind" } td { code { (letter.kind) } } }
            tr { th { "Lane" } td { (letter.lane) } }
            tr { th { "Failed" } td { (when(letter.failed_at_ms)) } }
            tr { th { "Attempts" } td { (letter.attempts) } }
            tr { th { "Last error" } td.bad { (letter.error) " " (pill(&letter.error_class)) } }
            tr { th { "Trace" } td { code { (letter.trace_id) } } }
        }
        h2 { "Each attempt" }
        table #attempts {
            thead { tr { th.num { "Attempt" } th { "When" } th { "Error" } } }
            tbody {
                @match job.as_ref().filter(|j| !j.errors.is_empty()) {
                    Some(job) => { @for e in &job.errors { tr { td.num { (e.attempt) } td { (when(e.at_ms)) } td.bad { (e.error) } } } }
                    None => tr { td.num { (letter.attempts) } td { (when(letter.failed_at_ms)) } td.bad { (letter.error) } },
                }
            }
        }
        h2 { "Payload" }
        pre { (payload) }
        @if session.can_act() {
            form.inline method="post" action="/console/dead-letters/replay" {
                (csrf_field(&session))
                input type="hidden" name="service" value=(service.as_str());
                input type="hidden" name="id" value=(letter.id);
                button type="submit" { "Replay" }
            }
            h2 { "Discard" }
            form #discard method="post" action="/console/dead-letters/discard" data-confirm="Discard this dead letter for good?" {
                (csrf_field(&session))
                input type="hidden" name="service" value=(service.as_str());
                input type="hidden" name="id" value=(letter.id);
                label { "Reason (kept in the audit log) " input type="text" name="reason" size="60" maxlength="500" required; }
                " " button.danger type="submit" { "Discard" }
            }
        }
    };
    html_page(view::page("Dead letter", "Dead letters", &session, body))
}

/// Replays the ids posted (or, with `all`, every letter the posted filter matches, up to
/// `WINDOW`), each through the replay handler as the signed-in key.
pub async fn replay(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let filter = filter_of(&form);
        let service = service_of(non_empty(&filter.service))?;
        let ids: Vec<String> = if form.get("all") == Some("1") {
            matching(&gateway, &filter, 0, WINDOW)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect()
        } else {
            form.all("id").into_iter().map(str::to_string).collect()
        };
        if ids.is_empty() {
            return Err(ApiError::new(
                isthmus_proto::ErrorCode::InvalidArgument,
                "no dead letter selected",
            ));
        }
        let mut replayed = 0;
        for id in &ids {
            let query = jobs::ServiceQuery {
                service: Some(service),
                reason: None,
            };
            let _replayed = jobs::replay_dead_letter(
                State(gateway.clone()),
                Some(Extension(session.caller.clone())),
                Path(id.clone()),
                Ok(Query(query)),
            )
            .await?;
            replayed += 1;
        }
        Ok((filter, replayed))
    }
    .await;
    match outcome {
        Ok((filter, n)) => done(
            &format!("/console/dead-letters?{}", filter_query(&filter)),
            &format!("Replayed {n} dead letter(s)."),
        ),
        Err(e) => error_page(&session, &e),
    }
}

fn filter_of(form: &Form) -> Filter {
    let text = |name| form.get(name).map(str::to_string);
    Filter {
        service: text("service"),
        kind: text("kind"),
        class: text("class"),
        code: text("code"),
        error: text("error"),
        within_h: form.get("within_h").and_then(|h| h.parse().ok()),
        offset: None,
        msg: None,
    }
}

pub async fn discard(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let service = service_of(form.get("service"))?;
        let id = form.required("id")?.to_string();
        let reason = form.required("reason")?.to_string();
        let query = jobs::ServiceQuery {
            service: Some(service),
            reason: Some(reason),
        };
        let _discarded = jobs::discard_dead_letter(
            State(gateway.clone()),
            Some(Extension(session.caller.clone())),
            Path(id),
            Ok(Query(query)),
        )
        .await?;
        Ok::<_, ApiError>(service)
    }
    .await;
    match outcome {
        Ok(service) => done(
            &format!("/console/dead-letters?service={}", service.as_str()),
            "Discarded.",
        ),
        Err(e) => error_page(&session, &e),
    }
}

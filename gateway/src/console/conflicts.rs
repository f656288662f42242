//! Conflicts: the parked records with, per field, the Salesforce value, the NetSuite value, the
//! value last synced and the field's policy; resolve by choosing a side or entering a value
//! (through the resolve handler, which writes both sides), and the resolved ones.

use crate::bounded::Bounded;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::session::Session;
use super::view::{self, ago, csrf_field, pill};
use super::{action_form, done, error_page, html_page};
use crate::routes::conflicts::{self, Choose, ConflictFilter, ResolveConflict, StateFilter};
use crate::routes::ApiJson;
use crate::{ApiError, Gateway};

const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Listing {
    /// `parked` (default) or `resolved`.
    pub state: Option<String>,
    pub offset: Option<u32>,
    pub msg: Option<String>,
}

pub async fn list(
    State(gateway): State<Gateway>,
    session: Session,
    listing: Result<Query<Listing>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let listing = listing.map(|q| q.0).unwrap_or_default();
    let resolved = listing.state.as_deref() == Some("resolved");
    let offset = listing.offset.unwrap_or(0);
    let filter = ConflictFilter {
        state: Some(if resolved {
            StateFilter::Resolved
        } else {
            StateFilter::Parked
        }),
        limit: Some(Bounded::saturating(PAGE.into())),
        offset: Some(Bounded::saturating(offset.into())),
    };
    let (found, total) = match conflicts::list(&gateway, filter).await {
        Ok(found) => found,
        Err(e) => return error_page(&session, &e),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let links = &gateway.settings.links;
    let state = if resolved { "resolved" } else { "parked" };
    let body = html! {
        h1 { "Conflicts" }
        (view::notices(listing.msg.as_deref(), None))
        p { a href="/console/conflicts" { "Parked" } " · " a href="/console/conflicts?state=resolved" { "Resolved" } " · " b #total { (total) } " " (state) }
        table #conflicts {
            thead { tr { th { "Found" } th { "Record" } th { "Field" } th { "Salesforce" } th { "NetSuite" } th { "Last synced" } th { "Policy" } th { @if resolved { "Resolution" } @else { "Resolve" } } } }
            tbody {
                @if found.is_empty() { tr { td colspan="8" .mute { "No " (state) " conflict." } } }
                @for c in &found {
                    tr data-id=(c.id) {
                        td { (ago(c.detected_at_ms, now)) }
                        td {
                            a target="_blank" rel="noopener" href=(links.salesforce_record("Account", &c.salesforce_id)) { code { (c.salesforce_id) } } br;
                            a target="_blank" rel="noopener" href=(links.netsuite_record("customer", &c.netsuite_id)) { "customer " (c.netsuite_id) } br;
                            a href={ "/console/records?q=" (c.salesforce_id) } { "history" }
                        }
                        td { code { (c.field) } }
                        td.sf { (c.salesforce_value.as_deref().unwrap_or("—")) }
                        td.ns { (c.netsuite_value.as_deref().unwrap_or("—")) }
                        td.mute { (c.last_synced_value.as_deref().unwrap_or("—")) }
                        td { (c.policy) }
                        td {
                            @if resolved {
                                (pill(c.winner.as_deref().unwrap_or("—"))) " " (c.resolved_value.as_deref().unwrap_or("—")) br;
                                span.mute { "by " (c.resolved_by.as_deref().unwrap_or("—")) }
                            } @else if session.can_act() {
                                form.inline method="post" action={ "/console/conflicts/" (c.id) "/resolve" } {
                                    (csrf_field(&session)) input type="hidden" name="choose" value="salesforce";
                                    button.plain type="submit" name="keep" value="salesforce" { "Keep Salesforce" }
                                }
                                " "
                                form.inline method="post" action={ "/console/conflicts/" (c.id) "/resolve" } {
                                    (csrf_field(&session)) input type="hidden" name="choose" value="netsuite";
                                    button.plain type="submit" name="keep" value="netsuite" { "Keep NetSuite" }
                                }
                                form method="post" action={ "/console/conflicts/" (c.id) "/resolve" } style="margin-top:4px" {
                                    (csrf_field(&session)) input type="hidden" name="choose" value="value";
                                    input type="text" name="value" size="18" aria-label="value" required;
                                    " " button.plain type="submit" { "Use value" }
                                }
                            } @else { span.mute { "parked" } }
                        }
                    }
                }
            }
        }
        p {
            @if offset > 0 { a href={ "/console/conflicts?state=" (state) "&offset=" (offset.saturating_sub(PAGE)) } { "← Newer" } " " }
            @if found.len() as u32 == PAGE { a href={ "/console/conflicts?state=" (state) "&offset=" (offset + PAGE) } { "Older →" } }
        }
    };
    html_page(view::page("Conflicts", "Conflicts", &session, body))
}

pub async fn resolve(
    State(gateway): State<Gateway>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let (choose, value) = match form.required("choose")? {
            "salesforce" => (Choose::Salesforce, None),
            "netsuite" => (Choose::Netsuite, None),
            "value" => (
                Choose::Value,
                Some(serde_json::Value::String(
                    form.required("value")?.to_string(),
                )),
            ),
            _ => {
                return Err(ApiError::new(
                    isthmus_proto::ErrorCode::InvalidArgument,
                    "choose must be salesforce, netsuite or value",
                ))
            }
        };
        let resolved = conflicts::resolve_conflict(
            State(gateway.clone()),
            Some(axum::Extension(session.caller.clone())),
            Path(id),
            ApiJson(ResolveConflict { choose, value }),
        )
        .await?
        .0;
        Ok::<_, ApiError>(resolved)
    }
    .await;
    match outcome {
        Ok(c) => done(
            "/console/conflicts?state=resolved",
            &format!(
                "Resolved {} of {} / customer {}: both sides now hold {}.",
                c.field,
                c.salesforce_id,
                c.netsuite_id,
                c.resolved_value.as_deref().unwrap_or("no value")
            ),
        ),
        Err(e) => error_page(&session, &e),
    }
}

//! Record: find a record by Salesforce id, NetSuite internal id or external id (Isthmus sets a
//! NetSuite record's `externalId` to its Salesforce id), and show its links, every write of it
//! from the audit log with the field changes before → after, and, for admins, a dry run (the
//! diff) and "sync now"; deep links open the record in Salesforce and NetSuite.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use isthmus_netsuite::NetSuiteId;
use isthmus_proto::common::v1::SyncOptions;
use isthmus_proto::customers::v1::SyncAccountRequest;
use isthmus_proto::orders::v1::SyncOpportunityRequest;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::{SObject, SalesforceId};
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Session;
use super::view::{self, csrf_field, pill, value, when};
use super::{action_form, done, error_page, html_page};
use crate::routes::found_json;
use crate::routes::{
    answer, audit, catalog, grpc_request, links, orders, AuditEntryJson, SyncResultJson,
};
use crate::{ApiError, Gateway};

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    pub q: Option<String>,
    pub msg: Option<String>,
}

/// One link found for the search, with where each side opens.
struct Found {
    kind: &'static str,
    salesforce_object: &'static str,
    salesforce_id: String,
    netsuite_record: &'static str,
    netsuite_id: String,
    synced_at_ms: i64,
    hashes: (String, String),
}

/// Every link the query names (a NetSuite id may be a customer, an item and an order at once).
async fn find(gateway: &Gateway, q: &str) -> Result<Vec<Found>, ApiError> {
    let g = || State(gateway.clone());
    let path = || Path(q.to_string());
    let mut found = Vec::new();
    let netsuite = NetSuiteId::parse(q).is_ok();
    let salesforce = SalesforceId::parse(q).ok();
    if !netsuite && salesforce.is_none() {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            isthmus_proto::rejected(
                q,
                "a Salesforce id, a NetSuite internal id or an external id",
                "it is neither",
            ),
        ));
    }
    let is = |object| netsuite || salesforce.as_ref().is_some_and(|id| id.is(object));
    if is(SObject::Account) {
        if let Some(l) = found_json(links::get_link(g(), path()).await)? {
            found.push(Found {
                kind: "customer",
                salesforce_object: "Account",
                salesforce_id: l.salesforce_id,
                netsuite_record: "customer",
                netsuite_id: l.netsuite_id,
                synced_at_ms: l.synced_at_ms,
                hashes: (l.salesforce_hash, l.netsuite_hash),
            });
        }
    }
    if is(SObject::Opportunity) {
        if let Some(l) = found_json(orders::get_order_link(g(), path()).await)? {
            found.push(Found {
                kind: "sales order",
                salesforce_object: "Opportunity",
                salesforce_id: l.opportunity_id,
                netsuite_record: "salesorder",
                netsuite_id: l.sales_order_id,
                synced_at_ms: l.synced_at_ms,
                hashes: (l.salesforce_hash, l.netsuite_hash),
            });
        }
    }
    if is(SObject::Product2) {
        if let Some(l) = found_json(catalog::get_product_link(g(), path()).await)? {
            found.push(Found {
                kind: "item",
                salesforce_object: "Product2",
                salesforce_id: l.product_id,
                netsuite_record: "item",
                netsuite_id: l.item_id,
                synced_at_ms: l.synced_at_ms,
                hashes: (String::new(), l.netsuite_hash),
            });
        }
    }
    Ok(found)
}

/// The audit trail of the searched record: of the Salesforce id when one is known.
async fn trail(
    gateway: &Gateway,
    q: &str,
    found: &[Found],
) -> Result<Vec<AuditEntryJson>, ApiError> {
    let (salesforce_id, netsuite_id) = match (found.first(), SalesforceId::parse(q)) {
        (Some(f), _) => (Some(f.salesforce_id.clone()), None),
        (None, Ok(id)) => (Some(id.to_string()), None),
        (None, Err(_)) => (None, Some(q.to_string())),
    };
    let query = audit::AuditQuery {
        after: None,
        limit: Some(crate::bounded::Bounded::saturating(100)),
        salesforce_id,
        netsuite_id,
    };
    Ok(audit::audit(State(gateway.clone()), Ok(Query(query)))
        .await?
        .0)
}

pub async fn page(
    State(gateway): State<Gateway>,
    session: Session,
    Query(search): Query<Search>,
) -> Response {
    let q = search
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let looked_up = if q.is_empty() {
        Ok(None)
    } else {
        match find(&gateway, &q).await {
            Ok(found) => trail(&gateway, &q, &found).await.map(|t| Some((found, t))),
            Err(e) => Err(e),
        }
    };
    let (found, trail) = match looked_up {
        Ok(Some(found)) => found,
        Ok(None) => (Vec::new(), Vec::new()),
        Err(e) if e.code == ErrorCode::InvalidArgument => {
            let body =
                html! { h1 { "Record" } (search_form(&q)) (view::notices(None, Some(&e.message))) };
            let mut response = html_page(view::page("Record", "Record", &session, body));
            *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            return response;
        }
        Err(e) => return error_page(&session, &e),
    };
    let body = html! {
        h1 { "Record" }
        (view::notices(search.msg.as_deref(), None))
        (search_form(&q))
        @if !q.is_empty() {
            @if found.is_empty() { p.mute #no-link { "No link holds " code { (q) } "." } }
            @for f in &found { (link_table(&gateway, &session, f)) }
            h2 { "History" }
            (history(&trail))
        }
    };
    html_page(view::page("Record", "Record", &session, body))
}

fn search_form(q: &str) -> Markup {
    html! {
        form.filters #search method="get" action="/console/records" {
            label { "Salesforce id, NetSuite internal id or external id"
                input #q type="search" name="q" value=(q) size="40" required; }
            button type="submit" { "Find" }
        }
    }
}

fn link_table(gateway: &Gateway, session: &Session, f: &Found) -> Markup {
    let links = &gateway.settings.links;
    html! {
        h2 { "Linked " (f.kind) }
        table.link {
            tr { th { "Salesforce " (f.salesforce_object) } td { code.sfid { (f.salesforce_id) } " " a target="_blank" rel="noopener" href=(links.salesforce_record(f.salesforce_object, &f.salesforce_id)) { "Open in Salesforce ↗" } } }
            tr { th { "NetSuite " (f.netsuite_record) } td { code.nsid { (f.netsuite_id) } " " a target="_blank" rel="noopener" href=(links.netsuite_record(f.netsuite_record, &f.netsuite_id)) { "Open in NetSuite ↗" } } }
            tr { th { "Last synced" } td { (when(f.synced_at_ms)) } }
            tr { th { "Hashes (Salesforce / NetSuite)" } td { code { (short(&f.hashes.0)) } " / " code { (short(&f.hashes.1)) } } }
        }
        @if session.can_act() && matches!(f.salesforce_object, "Account" | "Opportunity") {
            p {
                form.inline method="post" action="/console/records/sync" {
                    (csrf_field(session))
                    input type="hidden" name="id" value=(f.salesforce_id);
                    input type="hidden" name="mode" value="dry_run";
                    button.plain type="submit" { "Dry run" }
                }
                " "
                form.inline method="post" action="/console/records/sync" {
                    (csrf_field(session))
                    input type="hidden" name="id" value=(f.salesforce_id);
                    input type="hidden" name="mode" value="sync";
                    button type="submit" data-busy="Syncing…" { "Sync now" }
                }
            }
        }
    }
}

fn short(hash: &str) -> String {
    if hash.is_empty() {
        "—".into()
    } else {
        hash.chars().take(12).collect()
    }
}

fn history(trail: &[AuditEntryJson]) -> Markup {
    html! {
        table #history {
            thead { tr { th { "When" } th { "Flow" } th { "Trigger / who" } th { "Outcome" } th { "Changes (before → after)" } th { "Trace" } } }
            tbody {
                @if trail.is_empty() { tr { td colspan="6" .mute { "No write recorded for this record." } } }
                @for e in trail {
                    tr {
                        td { (when(e.at_ms)) }
                        td { code { (e.flow) } }
                        td { @if e.actor.is_empty() { (e.trigger) } @else { "by " b { (e.actor) } } @if !e.note.is_empty() { br; span.mute { (e.note) } } }
                        td { (pill(&e.outcome)) }
                        td {
                            @if e.changes.is_empty() { span.mute { (e.fields.join(", ")) } }
                            @for c in &e.changes {
                                div.change { code { (c.record) "." (c.field) } ": " span.mute { (value(c.before.as_ref())) } " → " b { (value(c.after.as_ref())) } }
                            }
                        }
                        td { code { (e.trace_id) } }
                    }
                }
            }
        }
    }
}

/// Dry run (renders the diff) or sync now (back to the record with the outcome) of an Account
/// or an Opportunity, through the service's gRPC as the REST button would.
pub async fn sync(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let result = async {
        let raw = form.required("id")?;
        let dry_run = match form.required("mode")? {
            "dry_run" => true,
            "sync" => false,
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidArgument,
                    "mode must be dry_run or sync",
                ))
            }
        };
        let id = SalesforceId::parse(raw).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidArgument,
                isthmus_proto::rejected(raw, "a Salesforce id", e),
            )
        })?;
        let options = Some(SyncOptions {
            dry_run,
            delivery: 0,
        });
        let result = if id.is(SObject::Account) {
            let message = SyncAccountRequest {
                account_id: id.to_string(),
                options,
            };
            answer(
                gateway
                    .services
                    .customers()
                    .sync_account(grpc_request(&gateway, message)),
            )
            .await?
        } else if id.is(SObject::Opportunity) {
            let message = SyncOpportunityRequest {
                opportunity_id: id.to_string(),
                options,
            };
            answer(
                gateway
                    .services
                    .orders()
                    .sync_opportunity(grpc_request(&gateway, message)),
            )
            .await?
        } else {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "only Accounts and Opportunities sync from here",
            ));
        };
        Ok((id, dry_run, SyncResultJson::from(result)))
    }
    .await;
    let (id, dry_run, result) = match result {
        Ok(r) => r,
        Err(e) => return error_page(&session, &e),
    };
    if !dry_run {
        return done(
            &format!("/console/records?q={id}"),
            &format!("Synced: {}", result.outcome.as_str()),
        );
    }
    let body = html! {
        h1 { "Dry run of " code { (id) } }
        p { "Outcome if synced now: " (pill(result.outcome.as_str())) " · matched by " code { (if result.matched_rule.is_empty() { "—" } else { &result.matched_rule }) } " · nothing was written." }
        table #diff {
            thead { tr { th { "Record" } th { "Field" } th { "Now" } th { "Would be" } } }
            tbody {
                @if result.changes.is_empty() { tr { td colspan="4" .mute { "No field would change." } } }
                @for c in &result.changes { tr { td { code { (c.record) } } td { code { (c.field) } } td { (value(c.before.as_ref())) } td { b { (value(c.after.as_ref())) } } } }
            }
        }
        @for w in &result.warnings { p.warn { (w) } }
        p { a href={ "/console/records?q=" (id) } { "Back to the record" } }
    };
    html_page(view::page("Dry run", "Record", &session, body))
}

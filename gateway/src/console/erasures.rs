//! Erasure of a person: a form (admin only; a viewer sees that it may not act) that sends a
//! Salesforce Contact id or a NetSuite contact id, as a dry run or for real, through the
//! `POST /v1/erasures` handler; the outcome per side comes back as the page's notice.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::session::Session;
use super::view::{self, csrf_field};
use super::{action_form, done, error_page, html_page};
use crate::routes::erasures::{self, ErasePerson, ErasureQuery};
use crate::routes::ApiJson;
use crate::{ApiError, Gateway};

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub msg: Option<String>,
}

pub async fn page(
    session: Session,
    notice: Result<Query<Notice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let notice = notice.map(|q| q.0).unwrap_or_default();
    let body = html! {
        h1 { "Erasure of a person" }
        (view::notices(notice.msg.as_deref(), None))
        p.mute { "Erases or anonymises the contact on both sides as customers.privacy says, scrubs it from Isthmus' store and records an audit entry that names only ids. A legal hold refuses it." }
        @if session.can_act() {
            form #erase method="post" action="/console/erasures" data-confirm="Erase this person on both sides? This cannot be undone." {
                (csrf_field(&session))
                div.filters {
                    label { "Id of" select name="side" { option value="salesforce" { "Salesforce Contact" } option value="netsuite" { "NetSuite contact" } } }
                    label { "Id" input type="text" name="id" size="22" required; }
                    label { "Dry run" input type="checkbox" name="dry_run" value="true" checked; }
                    button.danger type="submit" { "Erase" }
                }
            }
        } @else {
            p.mute { "This key has the viewer scope: an erasure needs admin." }
        }
    };
    html_page(view::page("Erasure", "Erasure", &session, body))
}

pub async fn erase(State(gateway): State<Gateway>, session: Session, body: Bytes) -> Response {
    let form = match action_form(&session, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let outcome = async {
        let id = form.required("id")?.trim().to_string();
        let request = match form.required("side")? {
            "salesforce" => ErasePerson {
                salesforce_contact_id: Some(id),
                netsuite_contact_id: None,
            },
            "netsuite" => ErasePerson {
                salesforce_contact_id: None,
                netsuite_contact_id: Some(id),
            },
            _ => {
                return Err(ApiError::new(
                    isthmus_proto::ErrorCode::InvalidArgument,
                    "side must be salesforce or netsuite",
                ))
            }
        };
        let query = ErasureQuery {
            dry_run: form.get("dry_run") == Some("true"),
        };
        let erased = erasures::erase_person(
            State(gateway.clone()),
            Some(axum::Extension(session.caller.clone())),
            Ok(Query(query)),
            ApiJson(request),
        )
        .await?
        .0;
        Ok::<_, ApiError>(erased)
    }
    .await;
    match outcome {
        Ok(e) => {
            done(
                "/console/erasures",
                &format!(
                "{}Salesforce contact {}: {}; NetSuite contact {}: {}; {} audit entries scrubbed.",
                if e.dry_run { "Dry run, nothing written. " } else { "" },
                e.salesforce_contact_id.as_deref().unwrap_or("—"),
                e.salesforce,
                e.netsuite_contact_id.as_deref().unwrap_or("—"),
                e.netsuite,
                e.audit_entries_redacted
            ),
            )
        }
        Err(e) => error_page(&session, &e),
    }
}

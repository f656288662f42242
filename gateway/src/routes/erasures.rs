//! Erasure of a person (admin scope): `POST /v1/erasures` with a Salesforce Contact id or a
//! NetSuite contact id; `?dry_run=true` shows what would change and writes nothing.

use axum::extract::{Query, State};
use axum::Json;
use isthmus_proto::customers::v1::erase_person_request::Person;
use isthmus_proto::customers::v1::{ErasePersonRequest, Erasure};
use isthmus_proto::{rejected, ErrorCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, grpc_request, ApiJson};
use crate::{ApiError, Gateway};

/// Exactly one of the two ids.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasePerson {
    /// A Salesforce Contact id (15 or 18 characters, `003…`).
    pub salesforce_contact_id: Option<String>,
    /// A NetSuite contact internal id.
    pub netsuite_contact_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ErasureQuery {
    /// Resolve the person and check the legal holds; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an erasure did (or would do) on each side: ids and actions only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureJson {
    pub salesforce_contact_id: Option<String>,
    pub netsuite_contact_id: Option<String>,
    pub salesforce_account_id: Option<String>,
    pub netsuite_customer_id: Option<String>,
    /// anonymised | deleted | already_anonymised | absent
    pub salesforce: String,
    /// anonymised | deleted | already_anonymised | absent
    pub netsuite: String,
    /// The configured mode (`customers.privacy.erasure.salesforce`): anonymise | delete
    pub salesforce_mode: String,
    /// The configured mode (`customers.privacy.erasure.netsuite`): anonymise | delete
    pub netsuite_mode: String,
    /// Audit entries (log and record histories) whose personal values were replaced.
    pub audit_entries_redacted: u64,
    pub dry_run: bool,
}

impl From<Erasure> for ErasureJson {
    fn from(e: Erasure) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Self {
            salesforce_contact_id: non_empty(e.salesforce_contact_id),
            netsuite_contact_id: non_empty(e.netsuite_contact_id),
            salesforce_account_id: non_empty(e.salesforce_account_id),
            netsuite_customer_id: non_empty(e.netsuite_customer_id),
            salesforce: e.salesforce,
            netsuite: e.netsuite,
            salesforce_mode: e.salesforce_mode,
            netsuite_mode: e.netsuite_mode,
            audit_entries_redacted: e.audit_entries_redacted,
            dry_run: e.dry_run,
        }
    }
}

/// Erases or anonymises the contact on both sides as `customers.privacy` configures, scrubs it
/// from Isthmus' store and writes one audit entry naming only ids. A second request for a
/// person anonymised answers 200 with `already_anonymised` and writes nothing; a person deleted
/// on both sides is unknown (404).
#[utoipa::path(post, path = "/v1/erasures", params(ErasureQuery), request_body = ErasePerson,
    responses((status = 200, body = ErasureJson), (status = 400, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody, description = "neither side knows the contact"),
        (status = 409, body = crate::ErrorBody, description = "LEGAL_HOLD: a legal hold applies; nothing changed")),
    security(("bearer" = [])))]
pub async fn erase_person(
    State(gateway): State<Gateway>,
    caller: Option<axum::Extension<crate::keys::Caller>>,
    query: Result<Query<ErasureQuery>, axum::extract::rejection::QueryRejection>,
    ApiJson(body): ApiJson<ErasePerson>,
) -> Result<Json<ErasureJson>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
    let person = match (body.salesforce_contact_id, body.netsuite_contact_id) {
        (Some(raw), None) => {
            isthmus_salesforce::id::SalesforceId::parse_as(
                &raw,
                isthmus_salesforce::id::SObject::Contact,
            )
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    rejected(&raw, "a Contact id", e),
                )
            })?;
            Person::SalesforceContactId(raw)
        }
        (None, Some(raw)) => {
            isthmus_netsuite::NetSuiteId::parse(&raw).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    rejected(&raw, "a NetSuite contact id", e),
                )
            })?;
            Person::NetsuiteContactId(raw)
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "give exactly one of salesforce_contact_id and netsuite_contact_id",
            ))
        }
    };
    let request = ErasePersonRequest {
        person: Some(person),
        dry_run: query.dry_run,
        actor: caller.map(|axum::Extension(c)| c.name).unwrap_or_default(),
    };
    let erasure = answer(
        gateway
            .services
            .customers()
            .erase_person(grpc_request(&gateway, request)),
    )
    .await?;
    Ok(Json(erasure.into()))
}

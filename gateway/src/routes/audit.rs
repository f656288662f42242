//! The audit log: every write to either side, oldest first, or one record's history, newest
//! first (read from the customers service, which serves the shared log).

use axum::extract::{Query, State};
use axum::Json;
use isthmus_proto::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, grpc_request, FieldChangeJson};
use crate::{ApiError, Gateway, Service};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this id (exclusive), to page forward.
    pub after: Option<String>,
    /// At most this many (default 100, 1 to 1000).
    #[param(inline)]
    pub limit: Option<crate::bounded::AuditLimit>,
    /// Only this Salesforce record's history, newest first.
    pub salesforce_id: Option<String>,
    /// Only this NetSuite record's history, newest first.
    pub netsuite_id: Option<String>,
}

/// One write to Salesforce and/or NetSuite.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryJson {
    pub id: String,
    pub at_ms: i64,
    pub flow: String,
    pub outcome: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    pub fields: Vec<String>,
    pub trace_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub job_id: String,
    /// Each field written, before → after.
    pub changes: Vec<FieldChangeJson>,
    /// What started the sync: request, job, backfill, delta, catalog_run, schedule; empty for
    /// an operator action.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trigger: String,
    /// Who acted, for an operator action (the API key's name).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// Why, when the actor said.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[utoipa::path(get, path = "/v1/audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntryJson]), (status = 400, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn audit(
    State(gateway): State<Gateway>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEntryJson>>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
    let request = isthmus_proto::jobs::v1::ListAuditRequest {
        after: query.after.unwrap_or_default(),
        limit: query.limit.map_or(0, |l| l.get_u32()),
        salesforce_id: query.salesforce_id.unwrap_or_default(),
        netsuite_id: query.netsuite_id.unwrap_or_default(),
    };
    let entries = answer(
        gateway
            .services
            .jobs(Service::Customers)
            .list_audit(grpc_request(&gateway, request)),
    )
    .await?
    .entries;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntryJson {
                id: e.id,
                at_ms: e.at_ms,
                flow: e.flow,
                outcome: e.outcome,
                salesforce_id: e.salesforce_id,
                netsuite_id: e.netsuite_id,
                fields: e.fields,
                trace_id: e.trace_id,
                job_id: e.job_id,
                changes: e.changes.into_iter().map(FieldChangeJson::from).collect(),
                trigger: e.trigger,
                actor: e.actor,
                note: e.note,
            })
            .collect(),
    ))
}

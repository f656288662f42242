//! Conflicts: list them, show one, resolve a parked one (admin scope).

use axum::extract::{Path, Query, State};
use axum::Json;
use isthmus_proto::customers::v1::{
    Conflict, ConflictChoice, ConflictState, GetConflictRequest, ListConflictsRequest,
    ResolveConflictRequest,
};
use isthmus_proto::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, grpc_request, record_id, ApiJson};
use crate::{ApiError, Gateway};

/// A field changed on both sides since the last sync, and how it was resolved.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictJson {
    pub id: String,
    pub flow: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    /// Canonical field: a key of `customers.fields`, or `billing` / `shipping` (JSON objects).
    pub field: String,
    pub salesforce_value: Option<String>,
    pub netsuite_value: Option<String>,
    /// The value both sides held after the last sync.
    pub last_synced_value: Option<String>,
    /// salesforce | netsuite | latest | manual
    pub policy: String,
    /// parked | resolved
    pub state: String,
    /// Whose value won: salesforce | netsuite | value; absent while parked.
    pub winner: Option<String>,
    pub resolved_value: Option<String>,
    /// policy | person; absent while parked.
    pub resolved_by: Option<String>,
    pub trace_id: String,
    pub detected_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

impl From<Conflict> for ConflictJson {
    fn from(c: Conflict) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Self {
            id: c.id,
            flow: c.flow,
            salesforce_id: c.salesforce_id,
            netsuite_id: c.netsuite_id,
            field: c.field,
            salesforce_value: c.salesforce_value,
            netsuite_value: c.netsuite_value,
            last_synced_value: c.last_synced_value,
            policy: c.policy,
            state: c.state,
            winner: non_empty(c.winner),
            resolved_value: c.resolved_value,
            resolved_by: non_empty(c.resolved_by),
            trace_id: c.trace_id,
            detected_at_ms: c.detected_at_ms,
            resolved_at_ms: (c.resolved_at_ms != 0).then_some(c.resolved_at_ms),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    Parked,
    Resolved,
    #[default]
    All,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictFilter {
    /// parked | resolved | all (default)
    pub state: Option<StateFilter>,
    /// At most this many (default 50, 1 to 500).
    #[param(inline)]
    pub limit: Option<crate::bounded::PageLimit>,
    /// Skip this many (0 to 100000).
    #[param(inline)]
    pub offset: Option<crate::bounded::PageOffset>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Choose {
    Salesforce,
    Netsuite,
    Value,
}

/// `{"choose":"salesforce"}`, `{"choose":"netsuite"}` or `{"choose":"value","value":"…"}`
/// (for `billing` / `shipping`, the value is an address object or its JSON text).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveConflict {
    pub choose: Choose,
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/v1/conflicts", params(ConflictFilter),
    responses((status = 200, body = [ConflictJson]), (status = 400, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn list_conflicts(
    State(gateway): State<Gateway>,
    filter: Result<Query<ConflictFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<([(&'static str, String); 1], Json<Vec<ConflictJson>>), ApiError> {
    let Query(filter) =
        filter.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
    let (conflicts, total) = list(&gateway, filter).await?;
    Ok(([("x-total-count", total.to_string())], Json(conflicts)))
}

/// A page of conflicts matching `filter`, and how many match in all.
pub(crate) async fn list(
    gateway: &Gateway,
    filter: ConflictFilter,
) -> Result<(Vec<ConflictJson>, u64), ApiError> {
    let state = match filter.state.unwrap_or_default() {
        StateFilter::Parked => ConflictState::Parked,
        StateFilter::Resolved => ConflictState::Resolved,
        StateFilter::All => ConflictState::Unspecified,
    };
    let request = ListConflictsRequest {
        state: state as i32,
        limit: filter.limit.map_or(0, |l| l.get_u32()),
        offset: filter.offset.map_or(0, |o| o.get_u32()),
    };
    let answer = answer(
        gateway
            .services
            .customers()
            .list_conflicts(grpc_request(gateway, request)),
    )
    .await?;
    let total = answer.total;
    Ok((
        answer.conflicts.into_iter().map(Into::into).collect(),
        total,
    ))
}

#[utoipa::path(get, path = "/v1/conflicts/{id}", params(("id" = String, Path, description = "conflict id")),
    responses((status = 200, body = ConflictJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_conflict(
    State(gateway): State<Gateway>,
    Path(raw): Path<String>,
) -> Result<Json<ConflictJson>, ApiError> {
    let id = record_id(&raw, "a conflict id")?.to_string();
    let conflict = answer(
        gateway
            .services
            .customers()
            .get_conflict(grpc_request(&gateway, GetConflictRequest { id })),
    )
    .await?;
    Ok(Json(conflict.into()))
}

/// Applies the choice to both sides, records it as last synced and unparks the record.
#[utoipa::path(post, path = "/v1/conflicts/{id}/resolve", params(("id" = String, Path, description = "conflict id")),
    request_body = ResolveConflict,
    responses((status = 200, body = ConflictJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody, description = "already resolved")),
    security(("bearer" = [])))]
pub async fn resolve_conflict(
    State(gateway): State<Gateway>,
    caller: Option<axum::Extension<crate::keys::Caller>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ResolveConflict>,
) -> Result<Json<ConflictJson>, ApiError> {
    let id = record_id(&raw, "a conflict id")?.to_string();
    let invalid = |message: &str| ApiError::new(ErrorCode::InvalidArgument, message);
    let (choose, value) = match (body.choose, body.value) {
        (Choose::Value, None) => return Err(invalid("choose = value needs a value")),
        (Choose::Value, Some(serde_json::Value::Null)) => (ConflictChoice::Value, None),
        (Choose::Value, Some(serde_json::Value::String(s))) => (ConflictChoice::Value, Some(s)),
        (Choose::Value, Some(object @ serde_json::Value::Object(_))) => {
            (ConflictChoice::Value, Some(object.to_string()))
        }
        (Choose::Value, Some(_)) => {
            return Err(invalid("value must be a string, an address object or null"))
        }
        (_, Some(_)) => return Err(invalid("value goes only with choose = value")),
        (Choose::Salesforce, None) => (ConflictChoice::Salesforce, None),
        (Choose::Netsuite, None) => (ConflictChoice::Netsuite, None),
    };
    let request = ResolveConflictRequest {
        id,
        choose: choose as i32,
        value,
        actor: caller.map(|axum::Extension(c)| c.name).unwrap_or_default(),
    };
    let conflict = answer(
        gateway
            .services
            .customers()
            .resolve_conflict(grpc_request(&gateway, request)),
    )
    .await?;
    Ok(Json(conflict.into()))
}

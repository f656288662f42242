//! The "Sync to NetSuite" button on an account, and what every sync route shares: the sync
//! result as JSON (202 while queued), the `?dry_run=&mode=` query, and idempotency keys.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use isthmus_engine::Outcome;
use isthmus_proto::common::v1::{Delivery, SyncOptions, SyncResult};
use isthmus_proto::customers::v1::SyncAccountRequest;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_store::Idempotency;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, grpc_request, query_or_error, salesforce_id, store_unavailable};
use crate::{ApiError, Gateway};

/// A sync result as JSON: field values are JSON values, the outcome a lower-case word.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncResultJson {
    /// created | updated | unchanged | skipped | conflict | failed | queued (202: see `job_id`)
    #[schema(value_type = String)]
    pub outcome: Outcome,
    pub flow: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    pub matched_rule: String,
    pub dry_run: bool,
    pub changes: Vec<FieldChangeJson>,
    pub warnings: Vec<String>,
    pub trace_id: String,
    /// The queue job that ran or will run this sync (follow it with `GET /v1/jobs/{id}`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldChangeJson {
    pub record: String,
    pub field: String,
    /// The value before: any JSON value (string, number, boolean, object, array) or null.
    pub before: Option<serde_json::Value>,
    /// The value after: any JSON value or null.
    pub after: Option<serde_json::Value>,
}

impl From<isthmus_proto::common::v1::FieldChange> for FieldChangeJson {
    /// The JSON-encoded values as JSON (a value that is not JSON as its text).
    fn from(c: isthmus_proto::common::v1::FieldChange) -> Self {
        let value = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
        };
        Self {
            record: c.record,
            field: c.field,
            before: value(c.before),
            after: value(c.after),
        }
    }
}

impl From<SyncResult> for SyncResultJson {
    fn from(r: SyncResult) -> Self {
        // A service always sets the outcome; one it does not is no success.
        let outcome = Outcome::from_wire(r.outcome).unwrap_or(Outcome::Failed);
        Self {
            outcome,
            flow: r.flow,
            salesforce_id: r.salesforce_id,
            netsuite_id: r.netsuite_id,
            matched_rule: r.matched_rule,
            dry_run: r.dry_run,
            changes: r.changes.into_iter().map(FieldChangeJson::from).collect(),
            warnings: r.warnings,
            trace_id: r.trace_id,
            job_id: r.job_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Return the diff and the matching rule; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// `sync` (default): wait for the result up to the deadline, then answer 202 with the job;
    /// `async`: answer 202 with the job at once.
    #[serde(default)]
    pub mode: SyncMode,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    #[default]
    Sync,
    Async,
}

impl SyncQuery {
    pub(crate) fn options(&self) -> SyncOptions {
        let delivery = match self.mode {
            SyncMode::Sync => Delivery::Unspecified,
            SyncMode::Async => Delivery::Async,
        };
        SyncOptions {
            dry_run: self.dry_run,
            delivery: delivery as i32,
        }
    }
}

/// 202 for a sync accepted as a job that has not finished, 200 for a finished one.
pub(crate) fn status_of(result: &SyncResultJson) -> StatusCode {
    if result.outcome == Outcome::Queued {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    }
}

/// "Sync to NetSuite" for one account.
#[utoipa::path(post, path = "/v1/salesforce/accounts/{id}/sync",
    params(("id" = String, Path, description = "Salesforce Account id, 15 or 18 characters"), SyncQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key")),
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_account(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let button = Button::read(SObject::Account, &raw_id, &uri, &headers)?;
    let message = SyncAccountRequest {
        account_id: button.id.to_string(),
        options: Some(button.options()),
    };
    let mut client = gateway.services.customers();
    let call = client.sync_account(grpc_request(&gateway, message));
    button.answer(&gateway, "accounts-sync", call).await
}

/// What a "Sync to NetSuite" button sends: the record's id, the `?dry_run=&mode=` query and an
/// `Idempotency-Key`, all checked before any call.
pub(crate) struct Button {
    pub(crate) id: SalesforceId,
    query: SyncQuery,
    key: Option<String>,
}

impl Button {
    /// The button of a record of `object`.
    pub(crate) fn read(
        object: SObject,
        raw_id: &str,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        let query: SyncQuery = query_or_error(uri.query())?;
        let id = salesforce_id(raw_id, object)?;
        let key = idempotency_key(headers)?;
        Ok(Self { id, query, key })
    }

    pub(crate) fn options(&self) -> SyncOptions {
        self.query.options()
    }

    /// The service's answer to `call`, once per idempotency key (`<route>:<id>:<dry run>:<key>`).
    pub(crate) async fn answer(
        self,
        gateway: &Gateway,
        route: &str,
        call: impl std::future::Future<Output = Result<tonic::Response<SyncResult>, tonic::Status>>,
    ) -> Result<Response, ApiError> {
        let key = self
            .key
            .map(|k| format!("{route}:{}:{}:{k}", self.id, self.query.dry_run));
        once_per_key(
            gateway.store.as_ref(),
            gateway.settings.idempotency_ttl,
            key,
            answer(call),
        )
        .await
    }
}

/// Runs a sync once per idempotency key: a key seen before replays the stored answer in
/// `answers` (with `Idempotent-Replayed: true`) without calling the service; a new one stores
/// the answer for `ttl` (`gateway.idempotency_ttl`). No key: just runs it. Errors are not stored
/// (a retry runs again).
pub(crate) async fn once_per_key(
    answers: &dyn Idempotency,
    ttl: std::time::Duration,
    key: Option<String>,
    sync: impl std::future::Future<Output = Result<SyncResult, ApiError>>,
) -> Result<Response, ApiError> {
    if let Some(key) = &key {
        if let Some(stored) = answers
            .idempotency_get(key)
            .await
            .map_err(store_unavailable)?
        {
            let status = serde_json::from_slice::<SyncResultJson>(&stored)
                .map_or(StatusCode::OK, |r| status_of(&r));
            let mut response = (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                stored,
            )
                .into_response();
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
    }
    let result = SyncResultJson::from(sync.await?);
    let status = status_of(&result);
    let body = serde_json::to_vec(&result).unwrap_or_default();
    if let Some(key) = &key {
        answers
            .idempotency_put(key, &body, ttl)
            .await
            .map_err(store_unavailable)?;
    }
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// The `Idempotency-Key` header, when present: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_string())).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    })
}

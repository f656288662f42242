//! The sync routes: the "Sync to NetSuite" button and NetSuite events.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use isthmus_engine::Outcome;
use isthmus_proto::catalog::v1::SyncItemRequest;
use isthmus_proto::common::v1::{Delivery, SyncOptions, SyncResult};
use isthmus_proto::customers::v1::{ChangeType, SyncAccountRequest, SyncCustomerRequest};
use isthmus_proto::finance::v1::SyncTransactionRequest;
use isthmus_proto::orders::v1::{SyncFulfillmentRequest, SyncSalesOrderRequest};
use isthmus_proto::shown;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use isthmus_store::Idempotency;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    answer, grpc_request, netsuite_id, query_or_error, salesforce_id, store_error, ApiJson,
};
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
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<SyncResult> for SyncResultJson {
    fn from(r: SyncResult) -> Self {
        // A service always sets the outcome; one it does not is no success.
        let outcome = Outcome::from_wire(r.outcome).unwrap_or(Outcome::Failed);
        let value = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
        };
        Self {
            outcome,
            flow: r.flow,
            salesforce_id: r.salesforce_id,
            netsuite_id: r.netsuite_id,
            matched_rule: r.matched_rule,
            dry_run: r.dry_run,
            changes: r
                .changes
                .into_iter()
                .map(|c| FieldChangeJson {
                    record: c.record,
                    field: c.field,
                    before: value(c.before),
                    after: value(c.after),
                })
                .collect(),
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
fn status_of(result: &SyncResultJson) -> StatusCode {
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
    let query: SyncQuery = query_or_error(uri.query())?;
    let id = salesforce_id(&raw_id, SObject::Account)?;
    let message = SyncAccountRequest {
        account_id: id.to_string(),
        options: Some(query.options()),
    };
    let key =
        idempotency_key(&headers)?.map(|k| format!("accounts-sync:{id}:{}:{k}", query.dry_run));
    once_per_key(
        gateway.store.as_ref(),
        gateway.settings.idempotency_ttl,
        key,
        async {
            answer(
                gateway
                    .services
                    .customers()
                    .sync_account(grpc_request(&gateway, message)),
            )
            .await
        },
    )
    .await
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
        if let Some(stored) = answers.idempotency_get(key).await.map_err(store_error)? {
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
            .map_err(store_error)?;
    }
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// An event from a NetSuite User Event script or RESTlet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteEvent {
    /// NetSuite record type: `customer`; `inventoryItem`, `nonInventorySaleItem`,
    /// `serviceSaleItem`, `kitItem`; `salesOrder`; `itemFulfillment`; `invoice`, `creditMemo`,
    /// `customerPayment` (REST names, or the
    /// SuiteScript `record.Type` values such as `salesorder`, in any case).
    pub record_type: String,
    /// Internal id of the record (string or number).
    #[schema(value_type = String)]
    pub id: serde_json::Value,
    /// `create`, `edit`, `xedit` or `delete` (the User Event script's `context.type`).
    pub event_type: String,
    /// Unique per event (1 to 64 of `[A-Za-z0-9._-]`): makes each signed event's signature
    /// unique, so two saves of one record within a second are not taken for a replay.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// A record event from NetSuite. When the gateway has a signing secret
/// (`ISTHMUS_GATEWAY__NETSUITE_HMAC_SECRET`), the event must also be signed:
/// `X-Isthmus-Signature: v1=<hex HMAC-SHA256(secret, "<X-Isthmus-Timestamp>.<raw body>")>`, the
/// timestamp within `gateway.netsuite_hmac_window_s` of now, each signature accepted once;
/// anything else is `401 UNAUTHENTICATED` before any service is called.
#[utoipa::path(post, path = "/v1/netsuite/events", request_body = NetSuiteEvent,
    params(SyncQuery,
           ("X-Isthmus-Timestamp" = Option<String>, Header, description = "unix seconds when the event was sent; required when the gateway has a signing secret"),
           ("X-Isthmus-Signature" = Option<String>, Header, description = "`v1=<lowercase hex HMAC-SHA256 of \"<timestamp>.<raw body>\">`, several separated by commas while a secret is rotated; required when the gateway has a signing secret")),
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 413, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn netsuite_event(
    State(gateway): State<Gateway>,
    uri: axum::http::Uri,
    ApiJson(event): ApiJson<NetSuiteEvent>,
) -> Result<(StatusCode, Json<SyncResultJson>), ApiError> {
    let query: SyncQuery = query_or_error(uri.query())?;
    let id = match &event.id {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "`id` must be a NetSuite internal id",
            ))
        }
    };
    let id = netsuite_id(&id, "record")?.to_string();
    let Some(kind) = EventKind::of(&event.record_type) else {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "record type '{}' is not synced (supported: customer, inventoryItem, \
                 nonInventorySaleItem, serviceSaleItem, kitItem, salesOrder, itemFulfillment, \
                 invoice, creditMemo, customerPayment)",
                shown(&event.record_type)
            ),
        ));
    };
    if let Some(event_id) = &event.event_id {
        let valid = (1..=64).contains(&event_id.len())
            && event_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "event_id '{}' must be 1 to 64 letters, digits, '.', '_' or '-'",
                    shown(event_id)
                ),
            ));
        }
    }
    let change = match event.event_type.as_str() {
        "create" => ChangeType::Create,
        "edit" | "xedit" => ChangeType::Edit,
        "delete" => ChangeType::Delete,
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "unknown event type '{}' (supported: create, edit, xedit, delete)",
                    shown(other)
                ),
            ))
        }
    };
    let options = Some(query.options());
    let result = match kind {
        EventKind::Customer => {
            let message = SyncCustomerRequest {
                customer_id: id,
                options,
                change: change as i32,
            };
            answer(
                gateway
                    .services
                    .customers()
                    .sync_customer(grpc_request(&gateway, message)),
            )
            .await?
        }
        EventKind::Item => {
            let message = SyncItemRequest {
                item_id: id,
                change: change as i32,
                options,
            };
            let mut client = gateway.services.catalog();
            answer(client.sync_item(grpc_request(&gateway, message))).await?
        }
        EventKind::SalesOrder => {
            let message = SyncSalesOrderRequest {
                sales_order_id: id,
                change: change as i32,
                options,
            };
            answer(
                gateway
                    .services
                    .orders()
                    .sync_sales_order(grpc_request(&gateway, message)),
            )
            .await?
        }
        EventKind::Finance(kind) => {
            let message = SyncTransactionRequest {
                transaction_id: id,
                change: change as i32,
                options,
            };
            let mut client = gateway.services.finance();
            let request = grpc_request(&gateway, message);
            let call = match kind {
                FinanceEvent::Invoice => client.sync_invoice(request).await,
                FinanceEvent::CreditMemo => client.sync_credit_memo(request).await,
                FinanceEvent::Payment => client.sync_payment(request).await,
            };
            answer(async { call }).await?
        }
        EventKind::Fulfillment => {
            let message = SyncFulfillmentRequest {
                fulfillment_id: id,
                change: change as i32,
                options,
            };
            answer(
                gateway
                    .services
                    .orders()
                    .sync_fulfillment(grpc_request(&gateway, message)),
            )
            .await?
        }
    };
    let result = SyncResultJson::from(result);
    Ok((status_of(&result), Json(result)))
}

/// Which flow a NetSuite event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Customer,
    Item,
    SalesOrder,
    Fulfillment,
    Finance(FinanceEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinanceEvent {
    Invoice,
    CreditMemo,
    Payment,
}

impl EventKind {
    /// By record type: the REST record name (`salesOrder`) or the SuiteScript `record.Type` value
    /// a User Event script sees (`salesorder`), in any case.
    fn of(record_type: &str) -> Option<Self> {
        Some(match record_type.to_ascii_lowercase().as_str() {
            "customer" => Self::Customer,
            "inventoryitem"
            | "noninventorysaleitem"
            | "noninventoryitem"
            | "servicesaleitem"
            | "serviceitem"
            | "kititem" => Self::Item,
            "salesorder" => Self::SalesOrder,
            "itemfulfillment" => Self::Fulfillment,
            "invoice" => Self::Finance(FinanceEvent::Invoice),
            "creditmemo" => Self::Finance(FinanceEvent::CreditMemo),
            "customerpayment" => Self::Finance(FinanceEvent::Payment),
            _ => return None,
        })
    }
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

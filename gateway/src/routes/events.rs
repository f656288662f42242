//! NetSuite record events (the User Event script, RESTlets): an event is checked whole (its
//! record id, record type, event id and event type) before anything is called, then delivered to
//! the flow of its record type: customers, items, sales orders, fulfilments, or the finance
//! transactions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use isthmus_netsuite::NetSuiteId;
use isthmus_proto::catalog::v1::SyncItemRequest;
use isthmus_proto::common::v1::{SyncOptions, SyncResult};
use isthmus_proto::customers::v1::{ChangeType, SyncCustomerRequest};
use isthmus_proto::finance::v1::SyncTransactionRequest;
use isthmus_proto::orders::v1::{
    SyncEstimateRequest, SyncFulfillmentRequest, SyncSalesOrderRequest,
};
use isthmus_proto::{shown, ErrorCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::sync::{status_of, SyncQuery, SyncResultJson};
use super::{answer, grpc_request, netsuite_id, query_or_error, ApiJson};
use crate::{ApiError, Gateway};

/// An event from a NetSuite User Event script or RESTlet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteEvent {
    /// NetSuite record type: `customer`; `inventoryItem`, `nonInventorySaleItem`,
    /// `serviceSaleItem`, `kitItem`; `salesOrder`; `itemFulfillment`; `invoice`, `creditMemo`,
    /// `customerPayment`; `estimate` (REST names, or the
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

/// An event checked whole: which flow, which record, what happened to it.
struct CheckedEvent {
    kind: EventKind,
    id: NetSuiteId,
    change: ChangeType,
}

impl CheckedEvent {
    fn check(event: &NetSuiteEvent) -> Result<Self, ApiError> {
        let id = record_id(&event.id)?;
        let Some(kind) = EventKind::of(&event.record_type) else {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "record type '{}' is not synced (supported: customer, inventoryItem, \
                     nonInventorySaleItem, serviceSaleItem, kitItem, salesOrder, itemFulfillment, \
                     invoice, creditMemo, customerPayment, estimate)",
                    shown(&event.record_type)
                ),
            ));
        };
        if let Some(event_id) = &event.event_id {
            check_event_id(event_id)?;
        }
        let change = change_of(&event.event_type)?;
        Ok(Self { kind, id, change })
    }
}

/// The record id, given as a string or a number.
fn record_id(raw: &serde_json::Value) -> Result<NetSuiteId, ApiError> {
    let id = match raw {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "`id` must be a NetSuite internal id",
            ))
        }
    };
    netsuite_id(&id, "record")
}

fn check_event_id(event_id: &str) -> Result<(), ApiError> {
    let valid = (1..=64).contains(&event_id.len())
        && event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidArgument,
        format!(
            "event_id '{}' must be 1 to 64 letters, digits, '.', '_' or '-'",
            shown(event_id)
        ),
    ))
}

/// The User Event script's `context.type` as a change.
fn change_of(event_type: &str) -> Result<ChangeType, ApiError> {
    match event_type {
        "create" => Ok(ChangeType::Create),
        "edit" | "xedit" => Ok(ChangeType::Edit),
        "delete" => Ok(ChangeType::Delete),
        other => Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "unknown event type '{}' (supported: create, edit, xedit, delete)",
                shown(other)
            ),
        )),
    }
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
    let event = CheckedEvent::check(&event)?;
    let result = SyncResultJson::from(deliver(&gateway, event, query.options()).await?);
    Ok((status_of(&result), Json(result)))
}

/// Sends a checked event to the service of its flow.
async fn deliver(
    gateway: &Gateway,
    event: CheckedEvent,
    options: SyncOptions,
) -> Result<SyncResult, ApiError> {
    let (id, change, options) = (event.id.to_string(), event.change as i32, Some(options));
    let services = &gateway.services;
    match event.kind {
        EventKind::Customer => {
            let message = SyncCustomerRequest {
                customer_id: id,
                options,
                change,
            };
            answer(
                services
                    .customers()
                    .sync_customer(grpc_request(gateway, message)),
            )
            .await
        }
        EventKind::Item => {
            let message = SyncItemRequest {
                item_id: id,
                change,
                options,
            };
            answer(services.catalog().sync_item(grpc_request(gateway, message))).await
        }
        EventKind::SalesOrder => {
            let message = SyncSalesOrderRequest {
                sales_order_id: id,
                change,
                options,
            };
            answer(
                services
                    .orders()
                    .sync_sales_order(grpc_request(gateway, message)),
            )
            .await
        }
        EventKind::Estimate => {
            let message = SyncEstimateRequest {
                estimate_id: id,
                change,
                options,
            };
            answer(
                services
                    .orders()
                    .sync_estimate(grpc_request(gateway, message)),
            )
            .await
        }
        EventKind::Fulfillment => {
            let message = SyncFulfillmentRequest {
                fulfillment_id: id,
                change,
                options,
            };
            answer(
                services
                    .orders()
                    .sync_fulfillment(grpc_request(gateway, message)),
            )
            .await
        }
        EventKind::Finance(kind) => {
            let message = SyncTransactionRequest {
                transaction_id: id,
                change,
                options,
            };
            let mut client = services.finance();
            let request = grpc_request(gateway, message);
            match kind {
                FinanceEvent::Invoice => answer(client.sync_invoice(request)).await,
                FinanceEvent::CreditMemo => answer(client.sync_credit_memo(request)).await,
                FinanceEvent::Payment => answer(client.sync_payment(request)).await,
            }
        }
    }
}

/// Which flow a NetSuite event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Customer,
    Item,
    SalesOrder,
    Fulfillment,
    Finance(FinanceEvent),
    Estimate,
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
            "estimate" => Self::Estimate,
            _ => return None,
        })
    }
}

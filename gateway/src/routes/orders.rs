//! The orders routes: "Sync to NetSuite" on an Opportunity and on a Quote, the renewal scan, the
//! order ID map.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use isthmus_proto::orders::v1::{
    get_order_link_request, GetOrderLinkRequest, ScanRenewalsRequest, SyncOpportunityRequest,
    SyncQuoteRequest,
};
use isthmus_salesforce::id::SObject;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sync::{Button, SyncQuery, SyncResultJson};
use super::{answer, grpc_request, link_key, ApiJson, LinkKey};
use crate::{ApiError, Gateway};

/// "Sync to NetSuite" for one won Opportunity: ensures the account's customer, then creates or
/// updates its sales order and writes the order's id, number and status back.
#[utoipa::path(post, path = "/v1/salesforce/opportunities/{id}/sync",
    params(("id" = String, Path, description = "Salesforce Opportunity id, 15 or 18 characters"), SyncQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key")),
    responses((status = 200, body = SyncResultJson), (status = 202, body = SyncResultJson),
              (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
              (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody),
              (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_opportunity(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let button = Button::read(SObject::Opportunity, &raw_id, &uri, &headers)?;
    let message = SyncOpportunityRequest {
        opportunity_id: button.id.to_string(),
        options: Some(button.options()),
    };
    let mut client = gateway.services.orders();
    let call = client.sync_opportunity(grpc_request(&gateway, message));
    button.answer(&gateway, "opportunities-sync", call).await
}

/// "Sync to NetSuite" for one Quote: ensures the account's customer, then creates or updates the
/// NetSuite estimate (external id = the Quote id) and writes its id and status back to the Quote.
#[utoipa::path(post, path = "/v1/salesforce/quotes/{id}/sync",
    params(("id" = String, Path, description = "Salesforce Quote id (0Q0…), 15 or 18 characters"), SyncQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key")),
    responses((status = 200, body = SyncResultJson), (status = 202, body = SyncResultJson),
              (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
              (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody),
              (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_quote(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let button = Button::read(SObject::Quote, &raw_id, &uri, &headers)?;
    let message = SyncQuoteRequest {
        quote_id: button.id.to_string(),
        options: Some(button.options()),
    };
    let mut client = gateway.services.orders();
    let call = client.sync_quote(grpc_request(&gateway, message));
    button.answer(&gateway, "quotes-sync", call).await
}

/// Options of a renewal scan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRenewals {
    /// Orders ending within this many days (1 to 3660; absent: `orders.renewals.window_days`).
    #[serde(default)]
    #[schema(inline)]
    pub within_days: Option<crate::bounded::RenewalDays>,
    /// Report what would be raised; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResultsJson {
    /// One result per record: for a renewal scan, per expiring order `created` (raised now),
    /// `unchanged` (raised before) or `skipped` (see warnings).
    pub results: Vec<SyncResultJson>,
}

/// Raises a renewal Opportunity, once, for each sales order whose term ends within the window.
#[utoipa::path(post, path = "/v1/renewals/scan", request_body = ScanRenewals,
    responses((status = 200, body = SyncResultsJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 422, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn scan_renewals(
    State(gateway): State<Gateway>,
    ApiJson(body): ApiJson<ScanRenewals>,
) -> Result<Json<SyncResultsJson>, ApiError> {
    let within_days = body.within_days.map_or(0, |d| d.get_u32());
    let message = ScanRenewalsRequest {
        within_days,
        dry_run: body.dry_run,
    };
    let mut request = grpc_request(&gateway, message);
    // A scan reads every expiring order: it may take longer than one record's sync.
    request.set_timeout(gateway.settings.sync_deadline * 8);
    let scan = answer(gateway.services.orders().scan_renewals(request)).await?;
    Ok(Json(SyncResultsJson {
        results: scan.results.into_iter().map(SyncResultJson::from).collect(),
    }))
}

/// The order link of an Opportunity or a sales order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLinkJson {
    pub opportunity_id: String,
    pub sales_order_id: String,
    pub salesforce_hash: String,
    pub netsuite_hash: String,
    pub synced_at_ms: i64,
}

#[utoipa::path(get, path = "/v1/links/orders/{id}",
    params(("id" = String, Path, description = "Opportunity id or NetSuite sales order internal id")),
    responses((status = 200, body = OrderLinkJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_order_link(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
) -> Result<Json<OrderLinkJson>, ApiError> {
    let key = match link_key(&raw_id, SObject::Opportunity, "sales order")? {
        LinkKey::NetSuite(id) => get_order_link_request::Key::SalesOrderId(id.to_string()),
        LinkKey::Salesforce(id) => get_order_link_request::Key::OpportunityId(id.to_string()),
    };
    let link = answer(gateway.services.orders().get_order_link(grpc_request(
        &gateway,
        GetOrderLinkRequest { key: Some(key) },
    )))
    .await?;
    Ok(Json(OrderLinkJson {
        opportunity_id: link.opportunity_id,
        sales_order_id: link.sales_order_id,
        salesforce_hash: link.salesforce_hash,
        netsuite_hash: link.netsuite_hash,
        synced_at_ms: link.synced_at_ms,
    }))
}

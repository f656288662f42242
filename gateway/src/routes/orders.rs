//! The orders routes: "Sync to NetSuite" on an Opportunity, the renewal scan, the order ID map.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use isthmus_proto::orders::v1::order_sync_client::OrderSyncClient;
use isthmus_proto::orders::v1::{
    get_order_link_request, GetOrderLinkRequest, ScanRenewalsRequest, SyncOpportunityRequest,
};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;
use utoipa::ToSchema;

use super::sync::{idempotency_key, once_per_key, SyncQuery, SyncResultJson};
use super::{answer, grpc_request, query_or_error, salesforce_id, ApiJson};
use crate::middleware::Trace;
use crate::{ApiError, Gateway};

pub(crate) fn client(gateway: &Gateway) -> OrderSyncClient<Channel> {
    OrderSyncClient::new(gateway.orders_channel.clone())
}

/// An 18-character Opportunity id, or a 400 saying what is wrong with `raw`.
fn opportunity_id(raw: &str, trace_id: &str) -> Result<SalesforceId, ApiError> {
    salesforce_id(raw, "006", "Opportunity", trace_id)
}

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
    Extension(trace): Extension<Trace>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let query: SyncQuery = query_or_error(uri.query(), &trace_id)?;
    let id = opportunity_id(&raw_id, &trace_id)?;
    let message = SyncOpportunityRequest {
        opportunity_id: id.to_string(),
        options: Some(query.options()),
    };
    let key = idempotency_key(&headers, &trace_id)?
        .map(|k| format!("opportunities-sync:{id}:{}:{k}", query.dry_run));
    once_per_key(&gateway, &trace_id, key, async {
        answer(
            &trace_id,
            client(&gateway).sync_opportunity(grpc_request(&gateway, &trace, message)),
        )
        .await
    })
    .await
}

/// Options of a renewal scan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRenewals {
    /// Orders ending within this many days (1 to 3660; absent: `orders.renewals.window_days`).
    #[serde(default)]
    pub within_days: Option<u32>,
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
    Extension(trace): Extension<Trace>,
    ApiJson(body): ApiJson<ScanRenewals>,
) -> Result<Json<SyncResultsJson>, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let within_days = match body.within_days {
        None => 0,
        Some(days @ 1..=3660) => days,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "within_days must be between 1 and 3660",
                &trace_id,
            ))
        }
    };
    let message = ScanRenewalsRequest {
        within_days,
        dry_run: body.dry_run,
    };
    let mut request = grpc_request(&gateway, &trace, message);
    // A scan reads every expiring order: it may take longer than one record's sync.
    request.set_timeout(gateway.settings.sync_deadline * 8);
    let scan = answer(&trace_id, client(&gateway).scan_renewals(request)).await?;
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
    Extension(trace): Extension<Trace>,
    Path(raw_id): Path<String>,
) -> Result<Json<OrderLinkJson>, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let key = if !raw_id.is_empty()
        && raw_id.len() <= 20
        && raw_id.bytes().all(|b| b.is_ascii_digit())
    {
        get_order_link_request::Key::SalesOrderId(raw_id)
    } else {
        get_order_link_request::Key::OpportunityId(opportunity_id(&raw_id, &trace_id)?.to_string())
    };
    let link = answer(
        &trace_id,
        client(&gateway).get_order_link(grpc_request(
            &gateway,
            &trace,
            GetOrderLinkRequest { key: Some(key) },
        )),
    )
    .await?;
    Ok(Json(OrderLinkJson {
        opportunity_id: link.opportunity_id,
        sales_order_id: link.sales_order_id,
        salesforce_hash: link.salesforce_hash,
        netsuite_hash: link.netsuite_hash,
        synced_at_ms: link.synced_at_ms,
    }))
}

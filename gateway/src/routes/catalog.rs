//! Catalog routes: start a catalog run and follow it (admin scope), and the product links.
//! Single items are synced by NetSuite item events (`POST /v1/netsuite/events`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use isthmus_proto::catalog::v1::{
    get_product_link_request, CatalogRun, GetCatalogRunRequest, GetProductLinkRequest,
    RunMode as ProtoRunMode, StartCatalogRunRequest,
};
use isthmus_salesforce::id::SObject;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{answer, grpc_request, link_key, record_id, ApiJson, LinkKey};
use crate::{ApiError, Gateway};

/// Which items a catalog run reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CatalogRunMode {
    /// Every item; products whose item no longer exists are deactivated.
    Full,
    /// Items modified since the last complete run (with an overlap window).
    #[default]
    Delta,
}

/// Options of a catalog run.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCatalogRun {
    /// `full` or `delta` (default).
    #[serde(default)]
    pub mode: CatalogRunMode,
    /// Stop after this many items (a run cut short neither sweeps nor moves the delta cursor).
    #[serde(default)]
    #[schema(inline)]
    pub limit: Option<crate::bounded::RunLimit>,
}

/// A catalog run and its counts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CatalogRunJson {
    pub id: String,
    /// full | delta
    pub mode: String,
    /// running | done | failed
    pub state: String,
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Products deactivated because their item is inactive or gone.
    pub deactivated: u64,
    pub failed: u64,
    /// PricebookEntry records created or updated.
    pub prices_written: u64,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub errors: Vec<String>,
}

impl From<CatalogRun> for CatalogRunJson {
    fn from(r: CatalogRun) -> Self {
        Self {
            id: r.id,
            mode: r.mode,
            state: r.state,
            seen: r.seen,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            deactivated: r.deactivated,
            failed: r.failed,
            prices_written: r.prices_written,
            started_at_ms: r.started_at_ms,
            finished_at_ms: r.finished_at_ms,
            errors: r.errors,
        }
    }
}

/// Starts a catalog run (NetSuite items → Salesforce products and price book entries) in the
/// background; follow it with `GET /v1/catalog/runs/{id}`.
#[utoipa::path(post, path = "/v1/catalog/runs", request_body = StartCatalogRun,
    responses((status = 202, body = CatalogRunJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 409, body = crate::ErrorBody, description = "a catalog run is running")),
    security(("bearer" = [])))]
pub async fn start_catalog_run(
    State(gateway): State<Gateway>,
    ApiJson(options): ApiJson<StartCatalogRun>,
) -> Result<(StatusCode, Json<CatalogRunJson>), ApiError> {
    let mode = match options.mode {
        CatalogRunMode::Full => ProtoRunMode::Full,
        CatalogRunMode::Delta => ProtoRunMode::Delta,
    };
    let message = StartCatalogRunRequest {
        mode: mode as i32,
        limit: options.limit.map_or(0, |l| l.get_u32()),
    };
    let run = answer(
        gateway
            .services
            .catalog()
            .start_catalog_run(grpc_request(&gateway, message)),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}

/// The latest catalog run started (while its record is kept, 7 days).
#[utoipa::path(get, path = "/v1/catalog/runs/latest",
    responses((status = 200, body = CatalogRunJson), (status = 404, body = crate::ErrorBody, description = "none started in the last 7 days")),
    security(("bearer" = [])))]
pub async fn latest_catalog_run(
    State(gateway): State<Gateway>,
) -> Result<Json<CatalogRunJson>, ApiError> {
    let id =
        super::ops::latest_run(&gateway, isthmus_engine::work::background::CATALOG_RUNS).await?;
    get_catalog_run(State(gateway), Path(id)).await
}

#[utoipa::path(get, path = "/v1/catalog/runs/{id}",
    params(("id" = String, Path, description = "catalog run id (32 lower-case hex characters)")),
    responses((status = 200, body = CatalogRunJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_catalog_run(
    State(gateway): State<Gateway>,
    Path(id): Path<String>,
) -> Result<Json<CatalogRunJson>, ApiError> {
    let id = record_id(&id, "a catalog run id")?.to_string();
    let run = answer(
        gateway
            .services
            .catalog()
            .get_catalog_run(grpc_request(&gateway, GetCatalogRunRequest { id })),
    )
    .await?;
    Ok(Json(run.into()))
}

/// An item ↔ product link of the ID map.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductLinkJson {
    /// NetSuite item internal id.
    pub item_id: String,
    /// 18-character Product2 id.
    pub product_id: String,
    /// Content hash of the item as last synced (empty: synced again on its next event or run).
    pub netsuite_hash: String,
    pub synced_at_ms: i64,
}

#[utoipa::path(get, path = "/v1/links/products/{id}",
    params(("id" = String, Path, description = "NetSuite item internal id or Salesforce Product2 id")),
    responses((status = 200, body = ProductLinkJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_product_link(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
) -> Result<Json<ProductLinkJson>, ApiError> {
    let key = match link_key(&raw_id, SObject::Product2, "item")? {
        LinkKey::NetSuite(id) => get_product_link_request::Key::ItemId(id.to_string()),
        LinkKey::Salesforce(id) => get_product_link_request::Key::ProductId(id.to_string()),
    };
    let link = answer(gateway.services.catalog().get_product_link(grpc_request(
        &gateway,
        GetProductLinkRequest { key: Some(key) },
    )))
    .await?;
    Ok(Json(ProductLinkJson {
        item_id: link.item_id,
        product_id: link.product_id,
        netsuite_hash: link.netsuite_hash,
        synced_at_ms: link.synced_at_ms,
    }))
}

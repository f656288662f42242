//! The ID map, read through the service.

use axum::extract::{Path, State};
use axum::Json;
use isthmus_proto::customers::v1::{get_link_request, GetLinkRequest};
use isthmus_salesforce::id::SObject;
use serde::Serialize;
use utoipa::ToSchema;

use super::{answer, grpc_request, link_key, LinkKey};
use crate::{ApiError, Gateway};

/// An ID-map entry, by the Salesforce Account id or the NetSuite customer internal id.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkJson {
    pub salesforce_id: String,
    pub netsuite_id: String,
    pub salesforce_hash: String,
    pub netsuite_hash: String,
    pub salesforce_modstamp: String,
    pub netsuite_modstamp: String,
    pub synced_at_ms: i64,
}

#[utoipa::path(get, path = "/v1/links/customers/{id}",
    params(("id" = String, Path, description = "Salesforce Account id or NetSuite customer internal id")),
    responses((status = 200, body = LinkJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_link(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
) -> Result<Json<LinkJson>, ApiError> {
    let key = match link_key(&raw_id, SObject::Account, "customer")? {
        LinkKey::NetSuite(id) => get_link_request::Key::NetsuiteId(id.to_string()),
        LinkKey::Salesforce(id) => get_link_request::Key::SalesforceId(id.to_string()),
    };
    let link = answer(
        gateway
            .services
            .customers()
            .get_link(grpc_request(&gateway, GetLinkRequest { key: Some(key) })),
    )
    .await?;
    Ok(Json(LinkJson {
        salesforce_id: link.salesforce_id,
        netsuite_id: link.netsuite_id,
        salesforce_hash: link.salesforce_hash,
        netsuite_hash: link.netsuite_hash,
        salesforce_modstamp: link.salesforce_modstamp,
        netsuite_modstamp: link.netsuite_modstamp,
        synced_at_ms: link.synced_at_ms,
    }))
}

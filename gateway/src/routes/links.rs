//! The ID map, read through the service.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use isthmus_proto::customers::v1::{get_link_request, GetLinkRequest};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use serde::Serialize;
use utoipa::ToSchema;

use super::{answer, grpc_request, shown};
use crate::middleware::Trace;
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
    Extension(trace): Extension<Trace>,
    Path(raw_id): Path<String>,
) -> Result<Json<LinkJson>, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let key =
        if !raw_id.is_empty() && raw_id.len() <= 20 && raw_id.bytes().all(|b| b.is_ascii_digit()) {
            get_link_request::Key::NetsuiteId(raw_id)
        } else {
            let id = SalesforceId::parse(&raw_id).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "'{}' is neither a NetSuite internal id nor a Salesforce id: {e}",
                        shown(&raw_id)
                    ),
                    &trace_id,
                )
            })?;
            get_link_request::Key::SalesforceId(id.to_string())
        };
    let link = answer(
        &trace_id,
        gateway.customers.clone().get_link(grpc_request(
            &gateway,
            &trace,
            GetLinkRequest { key: Some(key) },
        )),
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

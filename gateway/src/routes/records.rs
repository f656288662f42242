//! One record's sync status in one call, for the NetSuite panel on Salesforce record pages
//! (the `isthmusRecordPanel` component, through Apex): the link, the NetSuite id with a deep
//! link, the last write and its outcome, and the record's open conflicts.

use axum::extract::{Path, State};
use axum::Json;
use futures::future::join_all;
use isthmus_proto::customers::v1::{get_link_request, GetConflictRequest, GetLinkRequest};
use isthmus_proto::jobs::v1::ListAuditRequest;
use isthmus_proto::orders::v1::{get_order_link_request, GetOrderLinkRequest};
use isthmus_proto::{rejected, ErrorCode};
use isthmus_salesforce::id::{SObject, SalesforceId};
use serde::Serialize;
use utoipa::ToSchema;

use super::{answer, found, grpc_request};
use crate::{ApiError, Gateway, Service};

#[derive(Debug, Serialize, ToSchema)]
pub struct LastSyncJson {
    pub at_ms: i64,
    pub flow: String,
    pub outcome: String,
    pub trace_id: String,
}

/// An open (parked) conflict of the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenConflictJson {
    pub id: String,
    pub field: String,
    pub salesforce_value: Option<String>,
    pub netsuite_value: Option<String>,
    pub last_synced_value: Option<String>,
    pub policy: String,
    pub detected_at_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordStatusJson {
    /// The 18-character id.
    pub salesforce_id: String,
    /// `Account` or `Opportunity`.
    pub object: String,
    pub linked: bool,
    /// The customer (Account) or sales order (Opportunity) internal id.
    pub netsuite_id: Option<String>,
    /// The NetSuite record's page.
    pub netsuite_url: Option<String>,
    pub synced_at_ms: Option<i64>,
    /// The last write to either side for this record.
    pub last_sync: Option<LastSyncJson>,
    pub conflicts: Vec<OpenConflictJson>,
}

/// An Account or Opportunity id, or a 400.
fn record_of(raw: &str) -> Result<(SalesforceId, SObject), ApiError> {
    let invalid = |why: String| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            rejected(raw, "an Account or Opportunity id", why),
        )
    };
    let id = SalesforceId::parse(raw).map_err(|e| invalid(e.to_string()))?;
    [SObject::Account, SObject::Opportunity]
        .into_iter()
        .find(|object| id.is(*object))
        .map(|object| (id, object))
        .ok_or_else(|| invalid("it is neither an Account (001) nor an Opportunity (006)".into()))
}

#[utoipa::path(get, path = "/v1/salesforce/records/{id}/status",
    params(("id" = String, Path, description = "Salesforce Account or Opportunity id, 15 or 18 characters")),
    responses((status = 200, body = RecordStatusJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_status(
    State(gateway): State<Gateway>,
    Path(raw): Path<String>,
) -> Result<Json<RecordStatusJson>, ApiError> {
    let (id, object) = record_of(&raw)?;
    let audit_request = ListAuditRequest {
        limit: 1,
        salesforce_id: id.to_string(),
        ..Default::default()
    };
    let mut jobs = gateway.services.jobs(Service::Customers);
    let last = jobs.list_audit(grpc_request(&gateway, audit_request));
    // The link and the last write are read at once; the conflicts need the link.
    let link_lookup = async {
        Ok::<_, ApiError>(match object {
            SObject::Account => {
                let key = get_link_request::Key::SalesforceId(id.to_string());
                let mut customers = gateway.services.customers();
                let link = found(
                    answer(
                        customers
                            .get_link(grpc_request(&gateway, GetLinkRequest { key: Some(key) })),
                    )
                    .await,
                )?;
                let parked = link
                    .as_ref()
                    .map(|l| l.parked_conflict_ids.clone())
                    .unwrap_or_default();
                (
                    link.map(|l| (l.netsuite_id, l.synced_at_ms, "customer")),
                    parked,
                )
            }
            _ => {
                let key = get_order_link_request::Key::OpportunityId(id.to_string());
                let mut orders = gateway.services.orders();
                let link = found(
                    answer(orders.get_order_link(grpc_request(
                        &gateway,
                        GetOrderLinkRequest { key: Some(key) },
                    )))
                    .await,
                )?;
                (
                    link.map(|l| (l.sales_order_id, l.synced_at_ms, "salesorder")),
                    Vec::new(),
                )
            }
        })
    };
    let ((link, parked), last) = tokio::try_join!(link_lookup, answer(last))?;
    let conflicts = join_all(parked.into_iter().map(|conflict_id| {
        let mut customers = gateway.services.customers();
        let request = grpc_request(&gateway, GetConflictRequest { id: conflict_id });
        async move { answer(customers.get_conflict(request)).await }
    }))
    .await
    .into_iter()
    .filter_map(|c| found(c).transpose())
    .collect::<Result<Vec<_>, _>>()?
    .into_iter()
    .filter(|c| c.state == "parked")
    .map(|c| OpenConflictJson {
        id: c.id,
        field: c.field,
        salesforce_value: c.salesforce_value,
        netsuite_value: c.netsuite_value,
        last_synced_value: c.last_synced_value,
        policy: c.policy,
        detected_at_ms: c.detected_at_ms,
    })
    .collect();
    let last_sync = last.entries.into_iter().next().map(|e| LastSyncJson {
        at_ms: e.at_ms,
        flow: e.flow,
        outcome: e.outcome,
        trace_id: e.trace_id,
    });
    let object_name = match object {
        SObject::Account => "Account",
        _ => "Opportunity",
    };
    Ok(Json(RecordStatusJson {
        salesforce_id: id.to_string(),
        object: object_name.to_string(),
        linked: link.is_some(),
        netsuite_url: link
            .as_ref()
            .map(|(ns, _, record)| gateway.settings.links.netsuite_record(record, ns)),
        synced_at_ms: link.as_ref().map(|(_, at, _)| *at).filter(|at| *at > 0),
        netsuite_id: link.map(|(ns, _, _)| ns),
        last_sync,
        conflicts,
    }))
}

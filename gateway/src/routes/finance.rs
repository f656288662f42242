//! The finance routes: an account's financial summary on demand (invoices, credit memos and
//! payments arrive as NetSuite events, see `sync.rs`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use isthmus_proto::common::v1::SyncOptions;
use isthmus_proto::finance::v1::{
    sync_account_summary_request, SyncAccountSummaryRequest, SyncSubsidiariesRequest,
};

use super::sync::{SyncQuery, SyncResultJson};
use super::{answer, grpc_request, query_or_error, salesforce_id};
use crate::{ApiError, Gateway};
use isthmus_salesforce::id::SObject;

/// Reads the account's customer's balance, overdue balance, credit limit, days overdue and last
/// payment from NetSuite and writes them to the account (`Balance__c`, `Overdue_Balance__c`,
/// `Credit_Limit__c`, `Days_Overdue__c`, `Last_Payment_Date__c`, `Last_Payment_Amount__c`).
#[utoipa::path(post, path = "/v1/salesforce/accounts/{id}/financial-summary",
    params(("id" = String, Path, description = "Salesforce Account id linked to a NetSuite customer"), SyncQuery),
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn account_summary(
    State(gateway): State<Gateway>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
) -> Result<(StatusCode, Json<SyncResultJson>), ApiError> {
    let query: SyncQuery = query_or_error(uri.query())?;
    let id = salesforce_id(&raw_id, SObject::Account)?;
    let message = SyncAccountSummaryRequest {
        key: Some(sync_account_summary_request::Key::AccountId(id.to_string())),
        options: Some(SyncOptions {
            dry_run: query.dry_run,
            delivery: 0,
        }),
    };
    let mut client = gateway.services.finance();
    let result = answer(client.sync_account_summary(grpc_request(&gateway, message))).await?;
    Ok((StatusCode::OK, Json(SyncResultJson::from(result))))
}

/// Brings every NetSuite subsidiary to Salesforce as a `Subsidiary__c` record (parent, currency,
/// inactive flag); one result per subsidiary.
#[utoipa::path(post, path = "/v1/subsidiaries/sync", params(SyncQuery),
    responses((status = 200, body = super::orders::SyncResultsJson), (status = 400, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_subsidiaries(
    State(gateway): State<Gateway>,
    uri: axum::http::Uri,
) -> Result<Json<super::orders::SyncResultsJson>, ApiError> {
    let query: SyncQuery = query_or_error(uri.query())?;
    let message = SyncSubsidiariesRequest {
        dry_run: query.dry_run,
    };
    let mut client = gateway.services.finance();
    let answer = answer(client.sync_subsidiaries(grpc_request(&gateway, message))).await?;
    Ok(Json(super::orders::SyncResultsJson {
        results: answer.results.into_iter().map(Into::into).collect(),
    }))
}

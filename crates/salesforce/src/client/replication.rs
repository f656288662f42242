//! Replication: `GET sobjects/{Object}/deleted/?start=&end=`, the records of an object deleted in
//! a window (what a delta sync needs to propagate deletes; a query cannot see them once the
//! recycle bin is emptied).

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::Deserialize;

use super::{decode, segment, SalesforceClient};
use crate::error::SalesforceError;

/// One deleted record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeletedRecord {
    pub id: String,
    #[serde(rename = "deletedDate")]
    pub deleted_date: String,
}

/// The answer of `sobjects/{Object}/deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeletedRecords {
    #[serde(rename = "deletedRecords", default)]
    pub records: Vec<DeletedRecord>,
    /// The earliest deletion Salesforce still knows of.
    #[serde(rename = "earliestDateAvailable", default)]
    pub earliest_date_available: Option<String>,
    /// Up to where the answer is complete: the next window starts here.
    #[serde(rename = "latestDateCovered")]
    pub latest_date_covered: String,
}

impl SalesforceClient {
    /// The records of `sobject` deleted between `start` and `end`. Salesforce keeps the log
    /// **15 days**: `start` must be within them, the seconds of both are dropped, and `end`
    /// must follow `start` by more than a minute; otherwise 400 `INVALID_REPLICATION_DATE`.
    /// Read on from `latest_date_covered`.
    pub async fn deleted(
        &self,
        sobject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedRecords, SalesforceError> {
        let path = format!("sobjects/{}/deleted/", segment(sobject));
        let start = start.to_rfc3339_opts(SecondsFormat::Secs, true);
        let end = end.to_rfc3339_opts(SecondsFormat::Secs, true);
        let pattern = format!("sobjects/{sobject}/deleted");
        let reply = self
            .send(
                Method::GET,
                &path,
                &[("start", &start), ("end", &end)],
                None,
                &pattern,
            )
            .await?;
        decode(&reply.body, "deleted records")
    }
}

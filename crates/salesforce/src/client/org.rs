//! Org-wide resources: `GET limits`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::{decode, SalesforceClient};
use crate::error::SalesforceError;
use crate::limits::ApiUsage;

/// One entry of `GET limits` (`{"Max": 15000, "Remaining": 14998}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct OrgLimit {
    #[serde(rename = "Max")]
    pub max: u64,
    #[serde(rename = "Remaining")]
    pub remaining: u64,
}

impl SalesforceClient {
    /// The org's limits (`GET limits`), by name (`DailyApiRequests`, `DailyBulkApiBatches`, …).
    /// Also refreshes [`SalesforceClient::api_usage`] from `DailyApiRequests`, so a caller waiting
    /// for the allocation to recover can poll this.
    pub async fn limits(&self) -> Result<BTreeMap<String, OrgLimit>, SalesforceError> {
        let reply = self
            .send(Method::GET, "limits", &[], None, "limits")
            .await?;
        let limits: BTreeMap<String, OrgLimit> = decode(&reply.body, "limits")?;
        if let Some(daily) = limits.get("DailyApiRequests") {
            self.set_usage(ApiUsage {
                used: daily.max.saturating_sub(daily.remaining),
                max: daily.max,
            });
        }
        Ok(limits)
    }
}

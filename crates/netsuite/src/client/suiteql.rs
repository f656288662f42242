//! SuiteQL (`POST query/v1/suiteql`) with offset paging.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{decode, Call, NetSuiteClient, Record};
use crate::error::NetSuiteError;

/// Rows per SuiteQL page: the most NetSuite allows.
const SUITEQL_PAGE: usize = 1000;

#[derive(Deserialize)]
struct SuiteQlPage {
    #[serde(rename = "hasMore")]
    has_more: bool,
    #[serde(default)]
    items: Vec<Record>,
}

impl NetSuiteClient {
    /// The first `limit` rows (1 to 1,000) of a SuiteQL query, in one call, and whether more
    /// follow: a page of a keyset walk, where the caller moves the query's own condition past
    /// the last row instead of paging by offset. Order the query by a unique key.
    pub async fn suiteql_page(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<(Vec<Record>, bool), NetSuiteError> {
        let body = json!({ "q": query });
        let limit = limit.clamp(1, SUITEQL_PAGE).to_string();
        let url = self.url(
            &["query", "v1", "suiteql"],
            &[("limit", &limit), ("offset", "0")],
        )?;
        let call = Call::new(Method::POST, url, "query/v1/suiteql")
            .json(&body)?
            .prefer("transient");
        let reply = self.send(call).await?;
        let page: SuiteQlPage = decode(&reply.body, "SuiteQL page")?;
        Ok((page.items, page.has_more))
    }

    /// Runs SuiteQL (`POST query/v1/suiteql?limit=1000&offset=…`, `Prefer: transient`), following
    /// pages until `hasMore` is false. Rows come back as NetSuite returns them (lower-case column
    /// names, a `links` entry each). Order the query by a unique key, or rows can repeat or go
    /// missing between pages; NetSuite serves at most 100,000 rows of one query. Put values in the
    /// query only through [`crate::suiteql::literal`].
    pub async fn suiteql(&self, query: &str) -> Result<Vec<Record>, NetSuiteError> {
        let body = json!({ "q": query });
        let limit = SUITEQL_PAGE.to_string();
        let mut rows = Vec::new();
        loop {
            let offset = rows.len().to_string();
            let url = self.url(
                &["query", "v1", "suiteql"],
                &[("limit", &limit), ("offset", &offset)],
            )?;
            let call = Call::new(Method::POST, url, "query/v1/suiteql")
                .json(&body)?
                .prefer("transient");
            let reply = self.send(call).await?;
            let mut page: SuiteQlPage = decode(&reply.body, "SuiteQL page")?;
            if page.has_more && page.items.len() != SUITEQL_PAGE {
                // The next offset must be a multiple of the limit; a short page that claims more
                // would make the paging skip or repeat rows.
                return Err(NetSuiteError::Decode(format!(
                    "SuiteQL page of {} rows claims more follow",
                    page.items.len()
                )));
            }
            rows.append(&mut page.items);
            if !page.has_more {
                return Ok(rows);
            }
        }
    }
}

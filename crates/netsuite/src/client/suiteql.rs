//! SuiteQL (`POST query/v1/suiteql`): offset paging for bounded reads, and a keyset walk
//! ([`NetSuiteClient::suiteql_by_id`]) for whole tables. NetSuite serves at most 100,000 rows of
//! one query by offset (a page past that is refused), so a read that can grow with the account —
//! every customer, every item — walks by internal id instead: `WHERE id > :last ORDER BY id`,
//! one page of up to 1,000 rows a call, each page a fresh query that starts at offset 0.

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

    /// Every row of a query walked by keyset: `query(after)` must select the rows whose internal
    /// id is greater than `after` (`… WHERE id > {after} ORDER BY id`, the id selected as
    /// `id_column`); the walk starts at `after = 0` (internal ids are positive) and moves past
    /// the last id of each page until a page says no more follow, or `max_rows` rows are read
    /// (`usize::MAX` for all). Unlike [`Self::suiteql`] it is not bounded by NetSuite's
    /// 100,000-row offset cap.
    pub async fn suiteql_by_id(
        &self,
        id_column: &str,
        max_rows: usize,
        query: impl Fn(i64) -> String,
    ) -> Result<Vec<Record>, NetSuiteError> {
        let mut rows: Vec<Record> = Vec::new();
        let mut after = 0;
        loop {
            let want = max_rows.saturating_sub(rows.len());
            if want == 0 {
                return Ok(rows);
            }
            let (mut page, more) = self
                .suiteql_page(&query(after), want.min(SUITEQL_PAGE))
                .await?;
            let Some(last) = page.last() else {
                return Ok(rows);
            };
            let last = last
                .get(id_column)
                .and_then(|v| match v {
                    serde_json::Value::String(s) => s.parse::<i64>().ok(),
                    other => other.as_i64(),
                })
                .ok_or_else(|| {
                    NetSuiteError::Decode(format!(
                        "SuiteQL keyset page: the last row has no numeric {id_column:?}"
                    ))
                })?;
            if last <= after {
                // Not moving forward would loop forever: the query is not ordered by the key.
                return Err(NetSuiteError::Decode(format!(
                    "SuiteQL keyset page did not move past id {after}; order the query by {id_column}"
                )));
            }
            after = last;
            rows.append(&mut page);
            if !more {
                return Ok(rows);
            }
        }
    }

    /// Runs SuiteQL (`POST query/v1/suiteql?limit=1000&offset=…`, `Prefer: transient`), following
    /// pages until `hasMore` is false. Rows come back as NetSuite returns them (lower-case column
    /// names, a `links` entry each). Order the query by a unique key, or rows can repeat or go
    /// missing between pages; NetSuite serves at most 100,000 rows of one query by offset, and
    /// refuses the page past that (so a read that can outgrow it must use
    /// [`Self::suiteql_by_id`]). Put values in the query only through [`crate::suiteql::literal`].
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

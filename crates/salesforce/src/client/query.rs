//! SOQL queries, paged lazily.
//!
//! Salesforce answers a query with up to 2,000 records and a `nextRecordsUrl` while `done` is
//! false. [`SalesforceClient::query_pages`] fetches the next page only when the consumer asks for
//! it, so a backfill over millions of records holds one page at a time. A child subquery
//! (`SELECT Id, (SELECT Id FROM Contacts) FROM Account`) comes back nested in each parent as its
//! own query result, with a `nextRecordsUrl` of its own when it has more rows than fit: those
//! remaining child pages are fetched and merged into the parent before the page is yielded, so a
//! consumer always sees complete children (`done: true`, no `nextRecordsUrl`).
//!
//! A `nextRecordsUrl` names a server-side cursor that Salesforce releases after 15 idle minutes,
//! or when the user opens an eleventh: a long or parallel walk should page with
//! [`SalesforceClient::query_pages_by_id`] ([`super::keyset`]), which restarts from the last `Id`
//! it read instead of failing.

use futures::stream::{self, Stream, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{decode, Record, SalesforceClient};
use crate::error::SalesforceError;

#[derive(Deserialize)]
pub(super) struct QueryPage {
    pub(super) done: bool,
    #[serde(rename = "nextRecordsUrl")]
    pub(super) next_records_url: Option<String>,
    #[serde(rename = "totalSize", default)]
    total_size: usize,
    pub(super) records: Vec<Record>,
}

/// Where the next page comes from.
enum Cursor {
    Start(String),
    Next(String),
    Done,
}

impl SalesforceClient {
    /// Runs a SOQL query and collects every page (see [`SalesforceClient::query_pages`]). Records
    /// keep their `attributes`. Put values in the query only through [`crate::soql`].
    pub async fn query(&self, soql: &str) -> Result<Vec<Record>, SalesforceError> {
        let mut pages = std::pin::pin!(self.query_pages(soql));
        let mut records = Vec::new();
        while let Some(mut page) = pages.try_next().await? {
            records.append(&mut page);
        }
        Ok(records)
    }

    /// The query's records one page at a time, each page fetched when the previous one has been
    /// consumed; child subquery results are complete in every record.
    pub fn query_pages(
        &self,
        soql: &str,
    ) -> impl Stream<Item = Result<Vec<Record>, SalesforceError>> + Send + 'static {
        let start = (self.clone(), Cursor::Start(soql.to_owned()));
        stream::try_unfold(start, |(client, cursor)| async move {
            let page = match cursor {
                Cursor::Done => return Ok(None),
                Cursor::Start(soql) => client.first_page(&soql).await?,
                Cursor::Next(url) => client.next_page(&url).await?,
            };
            let mut records = page.records;
            for record in &mut records {
                client.complete_children(record).await?;
            }
            let cursor = match (page.done, page.next_records_url) {
                (true, _) => Cursor::Done,
                (false, Some(next)) => Cursor::Next(next),
                (false, None) => {
                    return Err(SalesforceError::Decode(
                        "query page not done but has no nextRecordsUrl".into(),
                    ))
                }
            };
            Ok(Some((records, (client, cursor))))
        })
    }

    /// The query's records one at a time, pages fetched as needed.
    pub fn query_stream(
        &self,
        soql: &str,
    ) -> impl Stream<Item = Result<Record, SalesforceError>> + Send + 'static {
        self.query_pages(soql)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// The number of records the query matches, as Salesforce reports it on the first page.
    pub async fn query_count(&self, soql: &str) -> Result<usize, SalesforceError> {
        Ok(self.first_page(soql).await?.total_size)
    }

    pub(super) async fn first_page(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        let reply = self
            .send(Method::GET, "query", &[("q", soql)], None, "query")
            .await?;
        decode(&reply.body, "query")
    }

    pub(super) async fn next_page(
        &self,
        next_records_url: &str,
    ) -> Result<QueryPage, SalesforceError> {
        if !next_records_url.starts_with("/services/data/") {
            return Err(SalesforceError::Decode(
                "nextRecordsUrl is not a data API path".into(),
            ));
        }
        let reply = self
            .send(Method::GET, next_records_url, &[], None, "query/{locator}")
            .await?;
        decode(&reply.body, "query")
    }

    /// Fetches the remaining pages of every unfinished child subquery result in `record`.
    pub(super) async fn complete_children(
        &self,
        record: &mut Record,
    ) -> Result<(), SalesforceError> {
        for value in record.values_mut() {
            let Value::Object(child) = value else {
                continue;
            };
            if child.get("done") != Some(&Value::Bool(false)) {
                continue;
            }
            let Some(Value::Array(_)) = child.get("records") else {
                continue;
            };
            let mut next = Some(
                child
                    .get("nextRecordsUrl")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        SalesforceError::Decode(
                            "child query result not done but has no nextRecordsUrl".into(),
                        )
                    })?,
            );
            while let Some(url) = next.take() {
                let page = self.next_page(&url).await?;
                if let Some(Value::Array(records)) = child.get_mut("records") {
                    records.extend(page.records.into_iter().map(Value::Object));
                }
                if !page.done {
                    next = Some(page.next_records_url.ok_or_else(|| {
                        SalesforceError::Decode(
                            "child query page not done but has no nextRecordsUrl".into(),
                        )
                    })?);
                }
            }
            child.insert("done".to_owned(), Value::Bool(true));
            child.remove("nextRecordsUrl");
        }
        Ok(())
    }
}

//! Paged reads that survive the loss of their query cursor.
//!
//! Salesforce keeps a query's remaining pages behind a cursor (`nextRecordsUrl`) that it
//! releases when the user opens an eleventh one or after 15 idle minutes; the next page then
//! answers 400 `INVALID_QUERY_LOCATOR`. Parallel walks (a backfill beside a reconciliation beside
//! a delta) or a slow consumer meet that on a real org. A [`KeysetQuery`] is read in `Id` order,
//! so when its cursor is gone the walk restarts as a new query for the records after the last
//! `Id` it yielded (`… AND Id > :last ORDER BY Id`): every record is yielded exactly once, in
//! order, whatever happens to the cursors. A page is yielded only whole (children completed),
//! so a cursor lost midway through a page (a child subquery's locator) restarts that page.
//!
//! A restart's first page needs no cursor, so a walk makes progress unless a page's child
//! cursors keep vanishing too; after [`MAX_RESTARTS`] restarts in a row without a page the
//! error is returned.

use futures::stream::{self, Stream};

use super::{Record, SalesforceClient};
use crate::error::SalesforceError;
use crate::soql::literal;

/// Restarts in a row (no page yielded between them) before the lost cursor is an error.
pub const MAX_RESTARTS: u32 = 5;

/// A query read in `Id` order: `SELECT … FROM Object` (child subqueries allowed) and an optional
/// condition (SOQL, values already placed through [`crate::soql`]). The walk adds
/// `ORDER BY Id` and, after a lost cursor, `Id > :last`.
#[derive(Debug, Clone)]
pub struct KeysetQuery {
    select_from: String,
    condition: Option<String>,
}

impl KeysetQuery {
    /// `select_from`: `SELECT fields FROM Object`, with no `WHERE`, `ORDER BY` or `LIMIT`.
    pub fn new(select_from: impl Into<String>) -> Self {
        Self {
            select_from: select_from.into(),
            condition: None,
        }
    }

    /// Only the records matching `condition`.
    pub fn filter(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    /// The SOQL of a walk that has yielded everything up to `after`.
    pub fn soql(&self, after: Option<&str>) -> String {
        let mut conditions = Vec::new();
        if let Some(condition) = &self.condition {
            conditions.push(format!("({condition})"));
        }
        if let Some(last) = after {
            conditions.push(format!("Id > {}", literal(last)));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        format!("{}{filter} ORDER BY Id", self.select_from)
    }
}

/// Where a walk is: the next page's URL (none before the first), the last `Id` yielded.
struct Walk {
    client: SalesforceClient,
    query: KeysetQuery,
    next: Option<String>,
    last: Option<String>,
    done: bool,
    restarts: u32,
}

impl SalesforceClient {
    /// The records of `query` one page at a time in `Id` order, each record exactly once even
    /// when Salesforce drops the query's cursor (see the module doc). Child subquery results are
    /// complete in every record.
    pub fn query_pages_by_id(
        &self,
        query: KeysetQuery,
    ) -> impl Stream<Item = Result<Vec<Record>, SalesforceError>> + Send + 'static {
        let walk = Walk {
            client: self.clone(),
            query,
            next: None,
            last: None,
            done: false,
            restarts: 0,
        };
        stream::try_unfold(walk, |mut walk| async move {
            if walk.done {
                return Ok(None);
            }
            loop {
                match walk.page().await {
                    Ok(records) => {
                        walk.restarts = 0;
                        return Ok(Some((records, walk)));
                    }
                    Err(err) if err.is_invalid_query_locator() && walk.restarts < MAX_RESTARTS => {
                        walk.restarts += 1;
                        tracing::warn!(
                            after = walk.last.as_deref().unwrap_or(""),
                            "query cursor gone: restarting the query after the last Id read"
                        );
                        walk.next = None;
                    }
                    Err(err) => return Err(err),
                }
            }
        })
    }
}

impl Walk {
    /// The next whole page; moves the walk past it.
    async fn page(&mut self) -> Result<Vec<Record>, SalesforceError> {
        let page = match &self.next {
            Some(url) => self.client.next_page(url).await?,
            None => {
                let soql = self.query.soql(self.last.as_deref());
                self.client.first_page(&soql).await?
            }
        };
        let mut records = page.records;
        for record in &mut records {
            self.client.complete_children(record).await?;
        }
        match (page.done, page.next_records_url) {
            (true, _) => self.done = true,
            (false, Some(next)) => self.next = Some(next),
            (false, None) => {
                return Err(SalesforceError::Decode(
                    "query page not done but has no nextRecordsUrl".into(),
                ))
            }
        }
        if let Some(id) = records
            .last()
            .and_then(|r| r.get("Id"))
            .and_then(|v| v.as_str())
        {
            self.last = Some(id.to_owned());
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::KeysetQuery;

    #[test]
    fn a_restart_reads_after_the_last_id_in_id_order() {
        let walk = KeysetQuery::new("SELECT Id FROM Account").filter("NetSuite_Id__c = null");
        assert_eq!(
            walk.soql(None),
            "SELECT Id FROM Account WHERE (NetSuite_Id__c = null) ORDER BY Id"
        );
        assert_eq!(
            walk.soql(Some("001000000000001AAA")),
            "SELECT Id FROM Account WHERE (NetSuite_Id__c = null) AND Id > '001000000000001AAA' ORDER BY Id"
        );
        assert_eq!(
            KeysetQuery::new("SELECT Id FROM Account").soql(Some("x'y")),
            r"SELECT Id FROM Account WHERE Id > 'x\'y' ORDER BY Id"
        );
    }
}

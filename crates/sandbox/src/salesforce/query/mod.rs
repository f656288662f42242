//! `GET query?q=`, `GET queryAll?q=` and `GET query/{locator}`: runs a compiled SOQL plan
//! ([`rows`]) and pages the result. The whole result is materialised on the first call and kept
//! behind a query locator (a server-side cursor, as in Salesforce), so later pages are stable even
//! when records change meanwhile. A child subquery with more rows than the child page size
//! (200, as in Salesforce) comes back with `done: false` and its own `nextRecordsUrl`, served by the
//! same locator endpoint.
//!
//! Open locators are limited as in Salesforce ([`Cursors`]): at most 10 per user, the oldest
//! released when another opens, each expiring after 15 idle minutes (both set in
//! [`crate::SandboxConfig`]).
//!
//! A page holds the org's page size (2000, as in Salesforce), or the batch size a client asks for
//! with `Sforce-Query-Options: batchSize=N`, which Salesforce bounds to 200..=2000.

pub mod rows;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::rest::{Call, Reply, Request};
use super::soql::{self, Scope};
use super::{ids, Org};
pub use rows::attributes;
use rows::Output;

/// The bounds Salesforce puts on a requested `batchSize`.
const BATCH_SIZES: std::ops::RangeInclusive<usize> = 200..=2000;

/// The batch size in a `Sforce-Query-Options: batchSize=N` header, within [`BATCH_SIZES`].
pub fn batch_size(headers: &axum::http::HeaderMap) -> Option<usize> {
    let options = headers.get("sforce-query-options")?.to_str().ok()?;
    let size = options.split(',').find_map(|option| {
        let (name, value) = option.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("batchSize")
            .then(|| value.trim().parse::<usize>().ok())?
    })?;
    Some(size.clamp(*BATCH_SIZES.start(), *BATCH_SIZES.end()))
}

/// An open query locator: the materialised rows, how many a page holds, and when it was last
/// read (on the org's clock).
struct Cursor {
    records: Arc<Vec<Value>>,
    page_size: usize,
    last_read: DateTime<Utc>,
}

/// The integration user's open query locators. As in Salesforce, a user holds at most `max_open`
/// (opening one more releases the oldest) and a locator not read for `idle` expires; either way
/// a later `nextRecordsUrl` answers 400 `INVALID_QUERY_LOCATOR`. The counter starts at a random
/// point, so a locator handed out before a restart almost surely names no cursor after it rather
/// than another query's rows.
pub struct Cursors {
    counter: u64,
    open: HashMap<String, Cursor>,
    order: VecDeque<String>,
    max_open: usize,
    idle: chrono::Duration,
}

impl Cursors {
    pub fn new(max_open: usize, idle: std::time::Duration) -> Self {
        Self {
            counter: u64::from(rand::random::<u32>()),
            open: HashMap::new(),
            order: VecDeque::new(),
            max_open: max_open.max(1),
            idle: chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// The rows and page size of `locator` if it is still open at `now`, marking it read; an
    /// expired one is released.
    fn read(&mut self, locator: &str, now: DateTime<Utc>) -> Option<(Arc<Vec<Value>>, usize)> {
        let cursor = self.open.get_mut(locator)?;
        if now - cursor.last_read > self.idle {
            self.release(locator);
            return None;
        }
        cursor.last_read = now;
        Some((cursor.records.clone(), cursor.page_size))
    }

    fn release(&mut self, locator: &str) {
        self.open.remove(locator);
        self.order.retain(|open| open != locator);
    }
}

/// `GET query?q=` and `GET queryAll?q=` (`all_rows`: deleted records too, with `IsDeleted` true).
pub fn query(call: &mut Call, request: &Request, all_rows: bool) -> Result<Reply, ApiError> {
    let soql = request.param("q").ok_or_else(|| {
        ApiError::bad_request("MALFORMED_QUERY", "A query string has to be specified")
    })?;
    let scope = if all_rows { Scope::All } else { Scope::Live };
    let plan = soql::compile(soql, scope)?;
    let result = rows::run(call.org, call.db, &plan, &call.version)?;
    let page_size = request.batch_size.unwrap_or(call.org.page_size());
    Ok(Reply::ok(match result {
        Output::Count(total) => json!({ "totalSize": total, "done": true, "records": [] }),
        Output::Records(mut records) => {
            if plan.offset.is_some() {
                // With OFFSET there is no cursor: only the first batch comes back.
                records.truncate(page_size);
            }
            call.org
                .page(&call.version, Arc::new(records), 0, None, page_size)
        }
    }))
}

/// `GET query/{locator}`: the next page of an open cursor.
pub fn query_more(call: &mut Call, locator: &str) -> Result<Reply, ApiError> {
    let invalid = || ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let now = call.org.now();
    let (records, page_size) = call.org.cursors().read(cursor, now).ok_or_else(invalid)?;
    if offset > records.len() {
        return Err(invalid());
    }
    Ok(Reply::ok(call.org.page(
        &call.version,
        records,
        offset,
        Some(cursor.to_owned()),
        page_size,
    )))
}

impl Org {
    /// One page of `records` from `offset`, opening a cursor when more remain.
    fn page(
        &self,
        version: &str,
        records: Arc<Vec<Value>>,
        offset: usize,
        cursor: Option<String>,
        page_size: usize,
    ) -> Value {
        let end = (offset + page_size).min(records.len());
        let mut body = json!({
            "totalSize": records.len(),
            "done": end == records.len(),
            "records": records[offset..end],
        });
        if end < records.len() {
            let cursor = cursor.unwrap_or_else(|| self.open_cursor(records.clone(), page_size));
            body["nextRecordsUrl"] =
                json!(format!("/services/data/v{version}/query/{cursor}-{end}"));
        }
        body
    }

    fn open_cursor(&self, records: Arc<Vec<Value>>, page_size: usize) -> String {
        let now = self.now();
        let mut cursors = self.cursors();
        cursors.counter += 1;
        let locator = ids::generate("01g", cursors.counter);
        let cursor = Cursor {
            records,
            page_size,
            last_read: now,
        };
        cursors.open.insert(locator.clone(), cursor);
        cursors.order.push_back(locator.clone());
        while cursors.order.len() > cursors.max_open {
            if let Some(old) = cursors.order.pop_front() {
                cursors.open.remove(&old);
            }
        }
        locator
    }
}

//! Reading items and their prices from NetSuite with SuiteQL.
//!
//! - Items come from the `item` table, filtered to `catalog.item_types`, in id order; a run
//!   reads them keyset-paged (`id > <last id> ORDER BY id`), so an item added or deleted while
//!   the run reads can neither shift a page nor be read twice.
//! - A delta adds `lastmodifieddate >= TO_TIMESTAMP('<since>', 'YYYY-MM-DD HH24:MI:SS')`, the
//!   UTC cursor written as the wall-clock time of the account's time zone (`netsuite.time_zone`),
//!   the zone NetSuite evaluates the timestamp in.
//! - Prices come from the `pricing` table for a whole batch of items at once (one query), for
//!   the standard level and the configured ones only.
//!
//! Every text value placed in a query goes through [`suiteql::literal`], ids included.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use isthmus_netsuite::suiteql;

use super::item::{column, Record};
use super::CatalogFlows;
use crate::error::Result;

/// Columns of an item row; `saleunit` is the name of the unit the item is sold in (SuiteQL's
/// `unitstypeuom` table, *unconfirmed* outside the sandbox), empty for items without units.
const ITEM_COLUMNS: &str =
    "id, itemid, displayname, description, isinactive, itemtype, externalid, lastmodifieddate, \
     (SELECT u.unitname FROM unitstypeuom u WHERE u.internalid = item.saleunit) AS saleunit";

/// Which items a run reads after a keyset position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemWindow {
    /// Only items with an internal id above this one (0: from the start).
    pub after: u64,
    /// Only items modified at or after this instant (a delta run).
    pub since: Option<DateTime<Utc>>,
}

/// `lastmodifieddate >= TO_TIMESTAMP(…)` for `since`, to the second, in the account's `zone`.
pub fn modified_since(since: DateTime<Utc>, zone: Tz) -> String {
    format!(
        "lastmodifieddate >= {}",
        crate::schedule::suiteql_timestamp(since, zone)
    )
}

/// `<column> IN ('a', 'b')`, every value a literal.
fn one_of(column: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| suiteql::literal(v)).collect();
    format!("{column} IN ({})", values.join(", "))
}

/// The query of the items in `window` of the given types, in id order.
pub fn items_query(item_types: &[String], window: &ItemWindow, zone: Tz) -> String {
    let mut conditions = vec![one_of("itemtype", item_types)];
    if window.after > 0 {
        // A number we parsed, not text from a record: it needs no quoting.
        conditions.push(format!("id > {}", window.after));
    }
    if let Some(since) = window.since {
        conditions.push(modified_since(since, zone));
    }
    format!(
        "SELECT {ITEM_COLUMNS} FROM item WHERE {} ORDER BY id",
        conditions.join(" AND ")
    )
}

/// The query of the prices of `items` at `levels`.
pub fn prices_query(items: &[String], levels: &[String]) -> String {
    format!(
        "SELECT item, pricelevel, currency, unitprice FROM pricing WHERE {} AND {} ORDER BY item, pricelevel, currency",
        one_of("item", items),
        one_of("pricelevel", levels)
    )
}

impl CatalogFlows {
    /// One item by internal id (any type), or `None` when NetSuite has none.
    pub(super) async fn read_item(&self, id: &str) -> Result<Option<Record>> {
        let q = format!(
            "SELECT {ITEM_COLUMNS} FROM item WHERE id = {}",
            suiteql::literal(id)
        );
        Ok(self.netsuite.suiteql(&q).await?.into_iter().next())
    }

    /// The first `max_rows` items of the configured types in `window`, in id order.
    ///
    /// The connector walks SuiteQL's pages (1,000 rows each) by id, never by offset, so the
    /// window is not cut at NetSuite's 100,000-row offset cap; a run cuts the rows into batches of
    /// `catalog.batch_size` and moves the window on by id.
    pub(super) async fn read_items(
        &self,
        window: &ItemWindow,
        max_rows: usize,
    ) -> Result<Vec<Record>> {
        let rows = self
            .netsuite
            .suiteql_by_id("id", max_rows, |after| {
                let window = ItemWindow {
                    after: window.after.max(u64::try_from(after).unwrap_or(0)),
                    since: window.since,
                };
                items_query(&self.config.item_types, &window, self.netsuite.time_zone())
            })
            .await?;
        Ok(rows)
    }

    /// The prices of `items` at the standard and configured levels (one query).
    pub(super) async fn read_prices(&self, items: &[String]) -> Result<Vec<Record>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let levels = self.mapper().levels();
        Ok(self.netsuite.suiteql(&prices_query(items, &levels)).await?)
    }
}

/// The largest internal id among `rows` (the next keyset position).
pub fn last_id(rows: &[Record]) -> Option<u64> {
    rows.iter()
        .filter_map(|r| column(r, "id").and_then(|id| id.parse().ok()))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_delta_window_uses_keyset_paging_and_a_real_timestamp() {
        let since = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap();
        let q = items_query(
            &["InvtPart".into(), "Kit".into()],
            &ItemWindow {
                after: 42,
                since: Some(since),
            },
            Tz::UTC,
        );
        assert_eq!(
            q,
            "SELECT id, itemid, displayname, description, isinactive, itemtype, externalid, lastmodifieddate, \
             (SELECT u.unitname FROM unitstypeuom u WHERE u.internalid = item.saleunit) AS saleunit \
             FROM item WHERE itemtype IN ('InvtPart', 'Kit') AND id > 42 AND \
             lastmodifieddate >= TO_TIMESTAMP('2026-11-28 03:00:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id"
        );
    }

    #[test]
    fn values_are_quoted_as_literals() {
        let q = prices_query(&["1".into(), "2' OR '1'='1".into()], &["1".into()]);
        assert!(
            q.contains("item IN ('1', '2'' OR ''1''=''1')"),
            "quotes are doubled: {q}"
        );
        let q = items_query(
            &["Kit') OR ('a'='a".into()],
            &ItemWindow {
                after: 0,
                since: None,
            },
            Tz::UTC,
        );
        assert!(q.contains("itemtype IN ('Kit'') OR (''a''=''a')"), "{q}");
    }

    #[test]
    fn the_next_window_starts_after_the_largest_id() {
        let rows: Vec<Record> = ["3", "12", "7"]
            .iter()
            .map(|id| {
                serde_json::json!({ "id": id })
                    .as_object()
                    .cloned()
                    .unwrap()
            })
            .collect();
        assert_eq!(last_id(&rows), Some(12));
        assert_eq!(last_id(&[]), None);
    }
}

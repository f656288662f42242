//! Reading customers' financial figures from NetSuite by SuiteQL, many customers at once.
//!
//! A page of customers costs two SuiteQL queries whatever its size (up to [`MAX_IN_LIST`]
//! customers a query): their credit limits (`customer.id IN (…)`), and their receivables
//! (`transaction.entity IN (…)`, walked by internal id, so a page with more than NetSuite's
//! 100,000 offset-reachable rows is still read whole). A single summary is the same read on a
//! page of one: two queries, as before.
//!
//! The figures are computed from the rows by [`summarise`], not aggregated in SQL: the days
//! overdue and the last payment (latest date, then highest id) depend on today and on tie rules
//! that a second implementation in SQL would have to repeat and could drift from. The rows read
//! are the same ones a per-customer query reads, so a page's figures equal each customer's own.
//! Ids go into the queries only as SuiteQL literals of ids parsed as [`NetSuiteId`]s.
//!
//! Each receivable carries its currency and NetSuite's exchange rate to the subsidiary's base
//! currency (`transaction.exchangerate`), and each customer its subsidiary's base currency, so
//! the summary's amounts are base-currency totals at NetSuite's rates, beside each currency's own.

use std::collections::HashMap;

use isthmus_netsuite::{suiteql, NetSuiteClient, NetSuiteId};

use super::summary::{summarise, Receivable, Summary};
use crate::customers::mapping::{text, Record};
use crate::error::Result;

/// Customers in one `IN` list at most (Oracle's limit, which SuiteQL runs on).
pub const MAX_IN_LIST: usize = 1000;

/// The summaries of `customers` on `today`, by internal id; a customer NetSuite does not hold
/// is absent.
pub async fn summaries(
    netsuite: &NetSuiteClient,
    customers: &[NetSuiteId],
    today: chrono::NaiveDate,
) -> Result<HashMap<String, Summary>> {
    let mut out = HashMap::new();
    for chunk in customers.chunks(MAX_IN_LIST) {
        let ids: Vec<String> = chunk.iter().map(|c| suiteql::literal(c.as_str())).collect();
        let ids = ids.join(", ");
        let limits = netsuite
            .suiteql(&format!(
                "SELECT c.id, c.creditlimit, bc.symbol AS basecurrency FROM customer c \
                 LEFT JOIN subsidiary s ON s.id = c.subsidiary LEFT JOIN currency bc ON bc.id = s.currency \
                 WHERE c.id IN ({ids}) ORDER BY c.id"
            ))
            .await?;
        let rows = netsuite
            .suiteql_by_id("id", usize::MAX, |after| {
                format!(
                    "SELECT t.id, t.entity, t.type, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, \
                     TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, t.foreigntotal, \
                     t.foreignamountremaining, cur.symbol AS currency, t.exchangerate \
                     FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency \
                     WHERE t.entity IN ({ids}) \
                     AND t.type IN ('CustInvc', 'CustCred', 'CustPymt') AND t.id > {after} \
                     ORDER BY t.id"
                )
            })
            .await?;
        let mut receivables: HashMap<String, Vec<Receivable>> = HashMap::new();
        for row in &rows {
            if let Some(entity) = text(row, "entity") {
                receivables.entry(entity).or_default().push(receivable(row));
            }
        }
        for row in &limits {
            let Some(id) = text(row, "id") else { continue };
            let own = receivables.remove(&id).unwrap_or_default();
            let mut summary = summarise(&own, number(row, "creditlimit"), today);
            summary.base_currency = text(row, "basecurrency");
            out.insert(id, summary);
        }
    }
    Ok(out)
}

fn number(row: &Record, field: &str) -> Option<f64> {
    text(row, field).and_then(|v| v.parse::<f64>().ok())
}

/// One receivable row (`t.id`, `type`, dates as `YYYY-MM-DD`, amounts signed as NetSuite keeps
/// them: summaries use their size).
fn receivable(row: &Record) -> Receivable {
    let date =
        |f: &str| text(row, f).and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    Receivable {
        id: number(row, "id").unwrap_or_default() as i64,
        kind: text(row, "type").unwrap_or_default(),
        date: date("trandate"),
        due: date("duedate"),
        total: number(row, "foreigntotal").unwrap_or_default().abs(),
        remaining: number(row, "foreignamountremaining")
            .unwrap_or_default()
            .abs(),
        currency: text(row, "currency"),
        rate: number(row, "exchangerate").unwrap_or(1.0),
    }
}

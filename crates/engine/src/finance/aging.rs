//! Receivables aging per customer and currency → `NetSuite_Aging__c` (one record per account and
//! currency, upserted by `NetSuite_Key__c` = `<customer id>-<ISO code>`, looked up to the
//! account by `Account__c`): what open invoices still owe (`amountremaining`, in the invoice's
//! currency), bucketed by days past their due date on the run's day: `Current__c` (not yet due,
//! or no due date), `Days_1_30__c`, `Days_31_60__c`, `Days_61_90__c`, `Days_90_Plus__c`, and
//! `Total__c`; `As_Of__c` is the day the figures were last written (an unchanged row is not
//! rewritten just to move it).
//!
//! The run walks the customers ID map a page of 200 at a time; a page costs one SuiteQL query
//! (the buckets summed by NetSuite, `GROUP BY` customer and currency; ids only as literals of
//! parsed [`NetSuiteId`]s) and one Collections upsert per 200 changed rows (see
//! [`super::reports`]). A customer whose invoices are all paid keeps its earlier rows, written
//! back as zeros once (every configured currency of a page is looked up in the ID map), so a
//! report never shows a debt that is gone. Credit memos and unapplied payments are not netted
//! into the buckets (the account summary's balance nets them).
//!
//! The whole run holds the lock `aging:run`: one run at a time across replicas.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use isthmus_netsuite::{suiteql, NetSuiteId};
use serde_json::{json, Map, Value};

use super::reports::{ReportRow, ReportRun};
use super::FinanceFlows;
use crate::customers::mapping::text;
use crate::error::Result;
use crate::lock::with_lock;

/// ID-map kind of `NetSuite_Aging__c` ↔ `<customer>-<ISO code>`.
pub const AGING_LINK_KIND: &str = "aging";
pub const AGING_SOBJECT: &str = "NetSuite_Aging__c";
const LOCK: &str = "aging:run";
/// Customers a page.
const PAGE: usize = 200;

/// What a customer owes in one currency, by days past due.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aging {
    pub current: f64,
    pub days_1_30: f64,
    pub days_31_60: f64,
    pub days_61_90: f64,
    pub days_90_plus: f64,
}

impl Aging {
    pub fn total(&self) -> f64 {
        cents(self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_90_plus)
    }
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The page's aging query: open invoices of `customers` bucketed on `today`.
pub fn aging_query(customers: &[NetSuiteId], today: NaiveDate) -> String {
    let ids: Vec<String> = customers
        .iter()
        .map(|c| suiteql::literal(c.as_str()))
        .collect();
    let day = |days: i64| {
        let date = today - chrono::Duration::days(days);
        format!("TO_DATE('{date}', 'YYYY-MM-DD')")
    };
    let bucket = |from: i64, to: i64| {
        format!(
            "SUM(CASE WHEN t.duedate < {} AND t.duedate >= {} THEN t.foreignamountremaining ELSE 0 END)",
            day(from - 1),
            day(to)
        )
    };
    format!(
        "SELECT t.entity, t.currency, \
         SUM(CASE WHEN t.duedate IS NULL OR t.duedate >= {} THEN t.foreignamountremaining ELSE 0 END) AS notdue, \
         {} AS due30, {} AS due60, {} AS due90, \
         SUM(CASE WHEN t.duedate < {} THEN t.foreignamountremaining ELSE 0 END) AS over90 \
         FROM transaction t WHERE t.type = 'CustInvc' AND t.entity IN ({}) \
         AND t.foreignamountremaining > 0 GROUP BY t.entity, t.currency ORDER BY t.entity, t.currency",
        day(0),
        bucket(1, 30),
        bucket(31, 60),
        bucket(61, 90),
        day(90),
        ids.join(", ")
    )
}

impl FinanceFlows {
    /// Every linked customer's aging onto `NetSuite_Aging__c` (see the module doc).
    pub async fn sync_aging(&self) -> Result<ReportRun> {
        with_lock(
            &self.store,
            LOCK,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                let today = chrono::Utc::now().date_naive();
                let mut run = ReportRun::default();
                let mut after: Option<String> = None;
                loop {
                    let links = self
                        .store
                        .links_page(crate::customers::LINK_KIND, after.as_deref(), PAGE)
                        .await?;
                    let Some(last) = links.last() else { break };
                    after = Some(last.salesforce_id.clone());
                    // customer id → account id, for the customers whose ids parse.
                    let accounts: BTreeMap<NetSuiteId, String> = links
                        .iter()
                        .filter_map(|l| {
                            let id = NetSuiteId::parse(&l.netsuite_id).ok()?;
                            Some((id, l.salesforce_id.clone()))
                        })
                        .collect();
                    if accounts.is_empty() {
                        continue;
                    }
                    let customers: Vec<NetSuiteId> = accounts.keys().cloned().collect();
                    let rows = self
                        .netsuite
                        .suiteql(&aging_query(&customers, today))
                        .await?;
                    let mut owed: HashMap<String, Aging> = HashMap::new();
                    for row in &rows {
                        let (Some(entity), Some(currency)) =
                            (text(row, "entity"), text(row, "currency"))
                        else {
                            continue;
                        };
                        let Some(iso) = self.iso_currency(&currency) else {
                            tracing::warn!(entity, currency, "aging in an unmapped currency");
                            run.failed += 1;
                            continue;
                        };
                        let amount = |f: &str| {
                            cents(text(row, f).and_then(|v| v.parse().ok()).unwrap_or(0.0))
                        };
                        owed.insert(
                            format!("{entity}-{iso}"),
                            Aging {
                                current: amount("notdue"),
                                days_1_30: amount("due30"),
                                days_31_60: amount("due60"),
                                days_61_90: amount("due90"),
                                days_90_plus: amount("over90"),
                            },
                        );
                    }
                    // Every customer × configured currency: a row owed now, or one written before
                    // (its link) that now owes nothing.
                    let mut candidates = Vec::new();
                    for (customer, account) in &accounts {
                        for iso in self.currencies.keys() {
                            let key = format!("{}-{iso}", customer.as_str());
                            let aging = owed.remove(&key);
                            candidates.push((key, account.clone(), iso.clone(), aging));
                        }
                    }
                    let keys: Vec<String> = candidates.iter().map(|c| c.0.clone()).collect();
                    let links = self
                        .store
                        .links_by_netsuite_many(AGING_LINK_KIND, &keys)
                        .await?;
                    let report: Vec<ReportRow> = candidates
                        .into_iter()
                        .zip(links)
                        .filter(|((.., aging), link)| aging.is_some() || link.is_some())
                        .map(|((key, account, iso, aging), _)| {
                            aging_row(key, &account, &iso, &aging.unwrap_or_default(), today)
                        })
                        .collect();
                    let changed = self
                        .changed_rows(AGING_LINK_KIND, report, &["As_Of__c"], &mut run)
                        .await?;
                    self.write_rows((AGING_SOBJECT, AGING_LINK_KIND), changed, &lease, &mut run)
                        .await?;
                }
                Ok(run)
            },
        )
        .await
    }
}

/// The `NetSuite_Aging__c` row of one customer and currency.
fn aging_row(key: String, account: &str, iso: &str, aging: &Aging, today: NaiveDate) -> ReportRow {
    let fields = json!({
        "Name": format!("{iso} receivables aging"),
        "Account__c": account,
        "Currency__c": iso,
        "CurrencyIsoCode": iso,
        "Current__c": aging.current,
        "Days_1_30__c": aging.days_1_30,
        "Days_31_60__c": aging.days_31_60,
        "Days_61_90__c": aging.days_61_90,
        "Days_90_Plus__c": aging.days_90_plus,
        "Total__c": aging.total(),
        "As_Of__c": today.to_string(),
    });
    let fields: Map<String, Value> = match fields {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    ReportRow {
        key,
        fields,
        snapshot: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aging_query_buckets_by_due_date_and_quotes_ids() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let ids = [
            NetSuiteId::parse("101").unwrap(),
            NetSuiteId::parse("102").unwrap(),
        ];
        let q = aging_query(&ids, today);
        assert!(q.contains("t.entity IN ('101', '102')"), "{q}");
        assert!(
            q.contains("t.duedate >= TO_DATE('2026-12-07', 'YYYY-MM-DD') THEN"),
            "{q}"
        );
        // 1–30 days: due from 30 days ago up to yesterday.
        assert!(
            q.contains("t.duedate < TO_DATE('2026-12-07', 'YYYY-MM-DD') AND t.duedate >= TO_DATE('2026-11-07', 'YYYY-MM-DD')"),
            "{q}"
        );
        assert!(
            q.contains("t.duedate < TO_DATE('2026-11-07', 'YYYY-MM-DD') AND t.duedate >= TO_DATE('2026-10-08', 'YYYY-MM-DD')"),
            "{q}"
        );
        assert!(
            q.contains("t.duedate < TO_DATE('2026-09-08', 'YYYY-MM-DD') THEN"),
            "{q}"
        );
        let total = Aging {
            current: 1.1,
            days_1_30: 2.2,
            days_31_60: 0.0,
            days_61_90: 0.0,
            days_90_plus: 3.3,
        }
        .total();
        assert_eq!(total, 6.6);
    }
}

//! GL balances by accounting period → `NetSuite_GL_Balance__c`, for the accounts configured in
//! `finance.gl_accounts` (account numbers, e.g. revenue, deferred revenue, receivables): one
//! record per posting period, account and subsidiary, upserted by `NetSuite_Key__c` =
//! `<period id>-<account number>-<subsidiary id>`.
//!
//! The figures are NetSuite's GL impact (`transactionaccountingline`, posting lines only) in
//! the subsidiary's base currency (`Currency__c` / `CurrencyIsoCode`): `Debit__c`, `Credit__c`,
//! `Amount__c` (debit less credit, NetSuite's sign: revenue shows negative) for the period, and
//! `Closing_Balance__c`, the running total of `Amount__c` over every period up to and including
//! this one (the query reads the whole history, so the running total is the account's balance).
//! Amounts are summed by NetSuite (`GROUP BY` period, account and subsidiary): one SuiteQL query
//! per 1000 rows of (period, account, subsidiary), and one Collections upsert per 200 changed rows
//! ([`super::reports`]); an unchanged row costs nothing.
//!
//! A period whose postings in an account are all gone (a transaction deleted or moved) is written
//! back once with no activity and the closing balance of the period before (found through the
//! rows' links, which keep each row's account, subsidiary and period start).
//!
//! The run holds the lock `gl_balances:run`. Not done: multi-book accounts (every book's lines
//! are summed: the primary book only is modelled by the sandbox).

use std::collections::HashMap;

use isthmus_netsuite::suiteql;
use serde_json::{json, Map, Value};

use super::reports::{ReportRow, ReportRun};
use super::{FinanceFlows, SUBSIDIARY_LINK_KIND};
use crate::customers::mapping::{text, Record};
use crate::error::Result;
use crate::lock::with_lock;

/// ID-map kind of `NetSuite_GL_Balance__c` ↔ `<period>-<account number>-<subsidiary>`.
pub const GL_LINK_KIND: &str = "gl_balance";
pub const GL_SOBJECT: &str = "NetSuite_GL_Balance__c";
const LOCK: &str = "gl_balances:run";

/// The GL query for the configured account numbers (quoted as SuiteQL literals).
pub fn gl_query(accounts: &[String]) -> String {
    let numbers: Vec<String> = accounts.iter().map(|a| suiteql::literal(a)).collect();
    format!(
        "SELECT t.postingperiod AS period, p.periodname, TO_CHAR(p.startdate, 'YYYY-MM-DD') AS startdate, \
         TO_CHAR(p.enddate, 'YYYY-MM-DD') AS enddate, a.acctnumber, a.fullname, t.subsidiary, \
         s.currency, SUM(tal.debit) AS debit, SUM(tal.credit) AS credit, SUM(tal.amount) AS amount \
         FROM transactionaccountingline tal JOIN transaction t ON t.id = tal.transaction \
         JOIN account a ON a.id = tal.account JOIN accountingperiod p ON p.id = t.postingperiod \
         JOIN subsidiary s ON s.id = t.subsidiary \
         WHERE tal.posting = 'T' AND a.acctnumber IN ({}) \
         GROUP BY t.postingperiod, p.periodname, p.startdate, p.enddate, a.acctnumber, a.fullname, \
         t.subsidiary, s.currency \
         ORDER BY p.startdate, t.postingperiod, a.acctnumber, t.subsidiary",
        numbers.join(", ")
    )
}

impl FinanceFlows {
    /// The configured accounts' balances by period onto `NetSuite_GL_Balance__c` (module doc).
    pub async fn sync_gl_balances(&self) -> Result<ReportRun> {
        with_lock(
            &self.store,
            LOCK,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                let mut run = ReportRun::default();
                if self.config.gl_accounts.is_empty() {
                    return Ok(run);
                }
                let rows = self
                    .netsuite
                    .suiteql(&gl_query(&self.config.gl_accounts))
                    .await?;
                let subsidiaries: Vec<String> = {
                    let mut ids: Vec<String> =
                        rows.iter().filter_map(|r| text(r, "subsidiary")).collect();
                    ids.sort();
                    ids.dedup();
                    ids
                };
                let linked: HashMap<String, String> = subsidiaries
                    .iter()
                    .cloned()
                    .zip(
                        self.store
                            .links_by_netsuite_many(SUBSIDIARY_LINK_KIND, &subsidiaries)
                            .await?,
                    )
                    .filter_map(|(id, link)| Some((id, link?.salesforce_id)))
                    .collect();
                // (account number, subsidiary) → (period start, closing balance), in period order.
                let mut history: HashMap<(String, String), Vec<(String, f64)>> = HashMap::new();
                let mut report = Vec::with_capacity(rows.len());
                for row in &rows {
                    let key = |f: &str| text(row, f).unwrap_or_default();
                    let periods = history
                        .entry((key("acctnumber"), key("subsidiary")))
                        .or_default();
                    let before = periods.last().map_or(0.0, |p| p.1);
                    let closing = cents(before + number(row, "amount"));
                    periods.push((key("startdate"), closing));
                    let subsidiary = linked.get(&key("subsidiary")).map(String::as_str);
                    let currency = self.iso_currency(&key("currency"));
                    report.push(gl_row(row, closing, subsidiary, currency));
                }
                report.extend(self.emptied_periods(&report, &history).await?);
                let changed = self
                    .changed_rows(GL_LINK_KIND, report, &[], &mut run)
                    .await?;
                self.write_rows((GL_SOBJECT, GL_LINK_KIND), changed, &lease, &mut run)
                    .await?;
                Ok(run)
            },
        )
        .await
    }
}

impl FinanceFlows {
    /// Rows written before whose period no longer has a posting in their account (a posted
    /// transaction was deleted or moved): written back with no activity and the closing balance
    /// of the period before, so a report never keeps activity that is gone. Walks the links of
    /// the GL rows (the ID map only, no upstream call).
    async fn emptied_periods(
        &self,
        current: &[ReportRow],
        history: &HashMap<(String, String), Vec<(String, f64)>>,
    ) -> Result<Vec<ReportRow>> {
        let current: std::collections::HashSet<&str> =
            current.iter().map(|r| r.key.as_str()).collect();
        let mut emptied = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let links = self
                .store
                .links_page(GL_LINK_KIND, after.as_deref(), 1000)
                .await?;
            let Some(last) = links.last() else { break };
            after = Some(last.salesforce_id.clone());
            for link in links {
                if current.contains(link.netsuite_id.as_str()) {
                    continue;
                }
                let kept = |f: &str| link.fields.get(f).cloned().flatten().unwrap_or_default();
                let start = kept("period_start");
                let closing = history
                    .get(&(kept("account"), kept("subsidiary")))
                    .and_then(|periods| periods.iter().rev().find(|p| p.0 < start))
                    .map_or(0.0, |p| p.1);
                let fields = match json!({
                    "Debit__c": 0.0,
                    "Credit__c": 0.0,
                    "Amount__c": 0.0,
                    "Closing_Balance__c": closing,
                }) {
                    Value::Object(fields) => fields,
                    _ => Map::new(),
                };
                emptied.push(ReportRow {
                    key: link.netsuite_id.clone(),
                    fields,
                    snapshot: link.fields.clone(),
                });
            }
        }
        Ok(emptied)
    }
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn number(row: &Record, field: &str) -> f64 {
    cents(text(row, field).and_then(|v| v.parse().ok()).unwrap_or(0.0))
}

/// The `NetSuite_GL_Balance__c` row of one period, account and subsidiary.
fn gl_row(
    row: &Record,
    closing: f64,
    subsidiary: Option<&str>,
    currency: Option<String>,
) -> ReportRow {
    let field = |f: &str| text(row, f).unwrap_or_default();
    let key = format!(
        "{}-{}-{}",
        field("period"),
        field("acctnumber"),
        field("subsidiary")
    );
    let mut fields = match json!({
        "Name": format!("{} {}", field("acctnumber"), field("periodname")),
        "Period__c": field("periodname"),
        "Period_Start__c": field("startdate"),
        "Period_End__c": field("enddate"),
        "Account_Number__c": field("acctnumber"),
        "Account_Name__c": field("fullname"),
        "Subsidiary_Id__c": field("subsidiary"),
        "Debit__c": number(row, "debit"),
        "Credit__c": number(row, "credit"),
        "Amount__c": number(row, "amount"),
        "Closing_Balance__c": closing,
    }) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    if let Some(subsidiary) = subsidiary {
        fields.insert("Subsidiary__c".into(), json!(subsidiary));
    }
    if let Some(iso) = currency {
        fields.insert("Currency__c".into(), json!(iso));
        fields.insert("CurrencyIsoCode".into(), json!(iso));
    }
    let snapshot = [
        ("account", field("acctnumber")),
        ("subsidiary", field("subsidiary")),
        ("period_start", field("startdate")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Some(v)))
    .collect();
    ReportRow {
        key,
        fields,
        snapshot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gl_query_quotes_account_numbers_and_reads_posting_lines_only() {
        let q = gl_query(&["4000".into(), "O'Brien".into()]);
        assert!(q.contains("a.acctnumber IN ('4000', 'O''Brien')"), "{q}");
        assert!(q.contains("tal.posting = 'T'"), "{q}");
    }
}

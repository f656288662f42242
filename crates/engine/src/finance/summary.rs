//! An account's financial summary: balance, overdue balance, credit limit, days overdue and last
//! payment, read from NetSuite (two SuiteQL reads, or one call of the package's RESTlet, as
//! `finance.summary_source` says) and written to the account when it changed: here on request (by
//! account or customer), one account update each; scheduled for every linked customer in
//! [`super::summaries`], a page of customers at a time. [`plan_summary`] decides for both.

use std::collections::HashMap;

use isthmus_netsuite::NetSuiteId;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::{figures, FinanceFlows};
use crate::config::SummarySource;
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};
use crate::mirror::netsuite_owned_link;
use crate::orders::hash;
use crate::result::{FieldChange, Outcome, SyncResult};

/// ID-map kind of Account ↔ customer for the financial summary (its hash: the fields last written).
pub const SUMMARY_LINK_KIND: &str = "summary";

pub const FLOW_SUMMARY: &str = "finance.account_summary";

/// A customer's financial summary, as the Account shows it. The amounts are in the base currency
/// of the customer's subsidiary (`base_currency`), each transaction converted at NetSuite's rate
/// (`transaction.exchangerate`); `by_currency` keeps what is owed in each transaction currency.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub balance: f64,
    pub overdue_balance: f64,
    pub credit_limit: Option<f64>,
    pub days_overdue: i64,
    pub last_payment_date: Option<String>,
    pub last_payment_amount: Option<f64>,
    /// ISO code of the subsidiary's base currency, when NetSuite says.
    pub base_currency: Option<String>,
    /// Balance and overdue balance in each transaction currency (ISO code), by code.
    pub by_currency: Vec<CurrencyBalance>,
}

/// What a customer owes in one transaction currency (amounts in that currency).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CurrencyBalance {
    pub currency: String,
    pub balance: f64,
    pub overdue_balance: f64,
}

/// `EUR 100.00 (overdue 50.00); USD 20.00 (overdue 0.00)`: the account's per-currency line.
pub fn by_currency_text(balances: &[CurrencyBalance]) -> Option<String> {
    let parts: Vec<String> = balances
        .iter()
        .map(|b| {
            format!(
                "{} {:.2} (overdue {:.2})",
                b.currency, b.balance, b.overdue_balance
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One open or settled receivable of a customer, as SuiteQL reads it.
#[derive(Debug, Clone)]
pub struct Receivable {
    pub id: i64,
    /// `CustInvc`, `CustCred` or `CustPymt`.
    pub kind: String,
    pub date: Option<chrono::NaiveDate>,
    pub due: Option<chrono::NaiveDate>,
    pub total: f64,
    pub remaining: f64,
    /// ISO code of the transaction's currency, when known.
    pub currency: Option<String>,
    /// NetSuite's rate from the transaction's currency to the subsidiary's base currency.
    pub rate: f64,
}

/// The summary of a customer's receivables on `today`: the balance is what open invoices still
/// owe less what open credit memos and unapplied payments hold; overdue is what invoices past
/// their due date still owe, and days overdue counts from the oldest of them.
///
/// Amounts are converted to the base currency at each transaction's rate (`base_currency` is
/// the caller's to set); the per-currency balances are the same sums left in each currency.
pub fn summarise(
    receivables: &[Receivable],
    credit_limit: Option<f64>,
    today: chrono::NaiveDate,
) -> Summary {
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let is_overdue = |r: &Receivable| {
        r.kind == "CustInvc" && r.remaining > 0.0 && r.due.is_some_and(|d| d < today)
    };
    let signed = |r: &Receivable| {
        if r.kind == "CustInvc" {
            r.remaining
        } else {
            -r.remaining
        }
    };
    let balance: f64 = receivables.iter().map(|r| signed(r) * r.rate).sum();
    let overdue: Vec<&Receivable> = receivables.iter().filter(|r| is_overdue(r)).collect();
    let oldest = overdue.iter().filter_map(|r| r.due).min();
    let last_payment = receivables
        .iter()
        .filter(|r| r.kind == "CustPymt")
        .max_by_key(|r| (r.date, r.id));
    let mut by_currency: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    for r in receivables {
        let Some(currency) = r.currency.as_deref() else {
            continue;
        };
        let entry = by_currency.entry(currency).or_default();
        entry.0 += signed(r);
        if is_overdue(r) {
            entry.1 += r.remaining;
        }
    }
    Summary {
        balance: round(balance),
        overdue_balance: round(overdue.iter().map(|r| r.remaining * r.rate).sum()),
        credit_limit,
        days_overdue: oldest.map_or(0, |d| (today - d).num_days()),
        last_payment_date: last_payment.and_then(|p| p.date).map(|d| d.to_string()),
        last_payment_amount: last_payment.map(|p| round(p.total * p.rate)),
        base_currency: None,
        by_currency: by_currency
            .into_iter()
            .map(|(currency, (balance, overdue))| CurrencyBalance {
                currency: currency.to_string(),
                balance: round(balance),
                overdue_balance: round(overdue),
            })
            .collect(),
    }
}

impl FinanceFlows {
    /// Writes the customer's financial summary to its account (`customer`: the NetSuite id;
    /// the account comes from the customers ID map). Under the account's summary lock; a dry run
    /// writes nothing. Two SuiteQL reads; no Salesforce write when nothing changed, else one
    /// account update (the scheduled run writes a page of them in one call: [`super::summaries`]).
    pub async fn sync_account_summary(
        &self,
        customer: &NetSuiteId,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let customer = customer.as_str();
        let account = self
            .store
            .link_by_netsuite(crate::customers::LINK_KIND, customer)
            .await?
            .map(|l| l.salesforce_id)
            .ok_or_else(|| {
                EngineError::Unprocessable(format!(
                    "customer {customer} has no Salesforce account; sync the customer first"
                ))
            })?;
        dry_run_or_locked(
            &self.store,
            dry_run,
            &summary_lock(customer),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.summary(customer, &account, trace_id, lease),
        )
        .await
    }

    /// The NetSuite customer linked to a Salesforce account, for a summary asked by account.
    pub async fn customer_of_account(&self, account: &str) -> Result<NetSuiteId> {
        let link = self
            .store
            .link_by_salesforce(crate::customers::LINK_KIND, account)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "account {account} is not linked to a NetSuite customer; sync it first"
                ))
            })?;
        NetSuiteId::parse(&link.netsuite_id).map_err(|e| {
            EngineError::Unprocessable(format!(
                "the ID map holds customer {:?} for account {account}: {e}",
                link.netsuite_id
            ))
        })
    }

    /// The summary from two SuiteQL reads (the credit limit, then the receivables): the
    /// page read of [`super::figures`] on a page of one.
    async fn summary_from_suiteql(&self, customer: &str) -> Result<Summary> {
        let id = NetSuiteId::parse(customer).map_err(|e| {
            EngineError::Unprocessable(format!("the ID map holds customer {customer:?}: {e}"))
        })?;
        let today = chrono::Utc::now().date_naive();
        figures::summaries(&self.netsuite, &[id], today)
            .await?
            .remove(customer)
            .ok_or_else(|| {
                EngineError::NotFound(format!("NetSuite customer {customer} does not exist"))
            })
    }

    /// The summary from one call of the NetSuite package's summary RESTlet
    /// (`finance.summary_restlet_script` / `_deploy`), which computes it the same way.
    async fn summary_from_restlet(&self, customer: &str) -> Result<Summary> {
        let answer = self
            .netsuite
            .restlet(
                reqwest::Method::GET,
                &self.config.summary_restlet_script,
                &self.config.summary_restlet_deploy,
                &[("customerId", customer)],
                None,
            )
            .await
            .map_err(|err| {
                if err.error_code() == Some("RCRD_DSNT_EXIST") {
                    EngineError::NotFound(format!("NetSuite customer {customer} does not exist"))
                } else {
                    err.into()
                }
            })?;
        let number = |field: &str| answer.get(field).and_then(Value::as_f64);
        let (Some(balance), Some(overdue_balance)) = (number("balance"), number("overdue_balance"))
        else {
            return Err(EngineError::Unprocessable(format!(
                "the summary RESTlet answered without balance and overdue_balance: {}",
                answer.to_string().chars().take(200).collect::<String>()
            )));
        };
        Ok(Summary {
            balance,
            overdue_balance,
            credit_limit: number("credit_limit"),
            days_overdue: answer
                .get("days_overdue")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            last_payment_date: answer
                .get("last_payment_date")
                .and_then(Value::as_str)
                .map(str::to_string),
            last_payment_amount: number("last_payment_amount"),
            base_currency: answer
                .get("base_currency")
                .and_then(Value::as_str)
                .map(str::to_string),
            by_currency: answer
                .get("by_currency")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    Some(CurrencyBalance {
                        currency: c.get("currency")?.as_str()?.to_string(),
                        balance: c.get("balance")?.as_f64()?,
                        overdue_balance: c.get("overdue_balance")?.as_f64()?,
                    })
                })
                .collect(),
        })
    }

    /// The customer's summary: from `page` (the figures of a page of customers by internal id,
    /// read beforehand) when given, else read now from `finance.summary_source`.
    pub(super) async fn read_summary(
        &self,
        customer: &str,
        page: Option<&HashMap<String, Summary>>,
    ) -> Result<Summary> {
        match (page, self.config.summary_source) {
            (Some(page), _) => page.get(customer).cloned().ok_or_else(|| {
                EngineError::NotFound(format!("NetSuite customer {customer} does not exist"))
            }),
            (None, SummarySource::Suiteql) => self.summary_from_suiteql(customer).await,
            (None, SummarySource::Restlet) => self.summary_from_restlet(customer).await,
        }
    }

    /// Records that the account holds the summary whose hash is `hash` (the summary link), under
    /// the summary lock's lease (fenced).
    pub(super) async fn record_summary(
        &self,
        account: &str,
        customer: &str,
        hash: String,
        lease: &Lease,
    ) -> Result<()> {
        let link = netsuite_owned_link(SUMMARY_LINK_KIND, account, customer, hash, String::new());
        self.store.put_link(&link, lease).await?;
        Ok(())
    }

    /// One account's summary under its lease (`None`: a dry run): read, compared with the link's
    /// hash, written with one account update when it changed.
    async fn summary(
        &self,
        customer: &str,
        account: &str,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let summary = self.read_summary(customer, None).await?;
        let link = self
            .store
            .link_by_netsuite(SUMMARY_LINK_KIND, customer)
            .await?;
        let plan = plan_summary(
            customer,
            account,
            &summary,
            link.as_ref(),
            trace_id,
            lease.is_none(),
        );
        let (Some(write), Some(lease)) = (plan.write, lease) else {
            return Ok(plan.result);
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        self.salesforce
            .update("Account", account, &write.fields)
            .await?;
        self.record_summary(account, customer, write.hash, &lease)
            .await?;
        Ok(plan.result)
    }
}

/// The lock every sync of a customer's summary holds (the one-account path's and the scheduled
/// run's alike).
pub(super) fn summary_lock(customer: &str) -> String {
    format!("{SUMMARY_LINK_KIND}:ns:{customer}")
}

/// What a summary sync does to its account: the result to report and, when the summary differs
/// from the one last written (the summary link's hash), the write.
pub(super) struct SummaryPlan {
    pub(super) result: SyncResult,
    pub(super) write: Option<SummaryWrite>,
}

/// The account fields of a changed summary and their hash (the summary link's once written).
pub(super) struct SummaryWrite {
    pub(super) fields: Map<String, Value>,
    pub(super) hash: String,
}

/// Plans the summary's write to `account`: `Unchanged` with no write when its hash equals
/// `link`'s, else `Updated` with every field as a change and, unless `dry_run`, the write.
pub(super) fn plan_summary(
    customer: &str,
    account: &str,
    summary: &Summary,
    link: Option<&Link>,
    trace_id: &str,
    dry_run: bool,
) -> SummaryPlan {
    let mut result = SyncResult::new(FLOW_SUMMARY, Outcome::Unchanged, dry_run, trace_id);
    result.netsuite_id = customer.to_string();
    result.salesforce_id = account.to_string();
    result.matched_rule = "id_map".into();
    let fields = json!({
        "Balance__c": summary.balance,
        "Overdue_Balance__c": summary.overdue_balance,
        "Credit_Limit__c": summary.credit_limit,
        "Days_Overdue__c": summary.days_overdue,
        "Last_Payment_Date__c": summary.last_payment_date,
        "Last_Payment_Amount__c": summary.last_payment_amount,
        "Summary_Currency__c": summary.base_currency,
        "Balance_By_Currency__c": by_currency_text(&summary.by_currency),
    });
    let hash = hash(&fields);
    if link.is_some_and(|l| l.netsuite_hash == hash) {
        return SummaryPlan {
            result,
            write: None,
        };
    }
    let fields = match fields {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    result.outcome = Outcome::Updated;
    for (field, value) in &fields {
        result
            .changes
            .push(FieldChange::set("salesforce.Account", field, value));
    }
    SummaryPlan {
        result,
        write: (!dry_run).then_some(SummaryWrite { fields, hash }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_equal_to_the_one_last_written_plans_no_write() {
        let summary = Summary {
            balance: 120.5,
            overdue_balance: 20.0,
            credit_limit: Some(1000.0),
            days_overdue: 3,
            last_payment_date: Some("2026-11-10".into()),
            last_payment_amount: Some(60.0),
            base_currency: Some("USD".into()),
            by_currency: vec![CurrencyBalance {
                currency: "USD".into(),
                balance: 120.5,
                overdue_balance: 20.0,
            }],
        };
        let first = plan_summary("42", "001000000000001AAA", &summary, None, "t", false);
        assert_eq!(first.result.outcome, Outcome::Updated);
        assert_eq!(first.result.changes.len(), 8);
        let write = first.write.expect("a first summary is written");
        assert_eq!(write.fields["Balance__c"], json!(120.5));
        assert_eq!(
            write.fields["Balance_By_Currency__c"],
            json!("USD 120.50 (overdue 20.00)")
        );
        assert_eq!(write.fields["Summary_Currency__c"], json!("USD"));
        assert!(!write.fields.contains_key("Id"));

        let link = netsuite_owned_link(
            SUMMARY_LINK_KIND,
            "001000000000001AAA",
            "42",
            write.hash,
            String::new(),
        );
        let again = plan_summary(
            "42",
            "001000000000001AAA",
            &summary,
            Some(&link),
            "t",
            false,
        );
        assert_eq!(again.result.outcome, Outcome::Unchanged);
        assert!(again.write.is_none() && again.result.changes.is_empty());

        let moved = Summary {
            balance: 99.0,
            ..summary
        };
        let dry = plan_summary("42", "001000000000001AAA", &moved, Some(&link), "t", true);
        assert_eq!(dry.result.outcome, Outcome::Updated);
        assert!(dry.result.dry_run && dry.write.is_none());
    }

    #[test]
    fn a_summary_counts_what_is_owed_overdue_and_last_paid() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let r = |id, kind: &str, date: &str, due: &str, total, remaining| Receivable {
            id,
            kind: kind.into(),
            date: day(date),
            due: day(due),
            total,
            remaining,
            currency: Some("USD".into()),
            rate: 1.0,
        };
        let today = day("2026-11-28").unwrap();
        let summary = summarise(
            &[
                r(1, "CustInvc", "2026-10-01", "2026-10-31", 500.0, 250.0),
                r(2, "CustInvc", "2026-11-01", "2026-12-31", 300.0, 300.0),
                r(3, "CustPymt", "2026-11-02", "", 250.0, 0.0),
                r(4, "CustCred", "2026-11-03", "", 40.0, 40.0),
                r(5, "CustPymt", "2026-11-10", "", 60.0, 60.0),
            ],
            Some(5000.0),
            today,
        );
        assert_eq!(summary.balance, 250.0 + 300.0 - 40.0 - 60.0);
        assert_eq!(summary.overdue_balance, 250.0);
        assert_eq!(summary.days_overdue, 28);
        assert_eq!(summary.last_payment_date.as_deref(), Some("2026-11-10"));
        assert_eq!(summary.last_payment_amount, Some(60.0));
        // A euro invoice of a dollar subsidiary counts at its rate; each currency keeps its own.
        let mut euro = r(6, "CustInvc", "2026-10-01", "2026-11-01", 100.0, 100.0);
        euro.currency = Some("EUR".into());
        euro.rate = 1.1;
        let mixed = summarise(
            &[
                r(1, "CustInvc", "2026-10-01", "2026-12-31", 50.0, 50.0),
                euro,
            ],
            None,
            today,
        );
        assert_eq!((mixed.balance, mixed.overdue_balance), (160.0, 110.0));
        assert_eq!(
            by_currency_text(&mixed.by_currency).as_deref(),
            Some("EUR 100.00 (overdue 100.00); USD 50.00 (overdue 0.00)")
        );
        let none = summarise(&[], None, today);
        assert_eq!(
            (none.balance, none.days_overdue, none.last_payment_date),
            (0.0, 0, None)
        );
    }
}

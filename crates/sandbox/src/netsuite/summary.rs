//! The customer financial summary RESTlet the NetSuite package ships
//! (`netsuite/src/FileCabinet/SuiteScripts/isthmus/isthmus_summary_rl.js`, script
//! `customscript_isthmus_summary_rl`, deployment `customdeploy_isthmus_summary_rl`), as that script
//! answers once deployed: `GET …&customerId=101` (or `POST {"customerId": "101"}`) →
//! `{"customer_id","balance","overdue_balance","credit_limit","days_overdue","last_payment_date",
//! "last_payment_amount","currency","base_currency","by_currency":[{"currency","balance",
//! "overdue_balance"}]}`.
//!
//! Computed live from the account's transactions, with the script's arithmetic: `balance` is what
//! open invoices still owe less what open credit memos and unapplied payments hold,
//! `overdue_balance` what invoices past their due date (as of today, UTC) still owe, and
//! `days_overdue` the days since the oldest such due date; the last payment is the latest by date,
//! then id; money in cents. Amounts are in the base currency of the customer's subsidiary
//! (`base_currency`), each transaction at its exchange rate; `by_currency` keeps each transaction
//! currency's own balance and overdue balance. Errors are the script's: `SSS_MISSING_REQD_ARGUMENT`,
//! `INVALID_CUSTOMER_ID` (not digits), `RCRD_DSNT_EXIST`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use serde_json::{json, Value};

use super::restlets::{RestletError, RestletRequest};
use crate::Sandbox;

pub fn customer_summary(
    sandbox: &Sandbox,
    request: &RestletRequest,
) -> Result<Value, RestletError> {
    let from_body = request
        .body
        .as_ref()
        .and_then(|b| b.get("customerId"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let customer_id = request
        .params
        .get("customerId")
        .cloned()
        .or(from_body)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            RestletError::new(
                "SSS_MISSING_REQD_ARGUMENT",
                "Missing a required argument: customerId",
            )
        })?;
    let customer_id = customer_id.trim().to_string();
    let digits = customer_id.len() <= 15 && customer_id.bytes().all(|b| b.is_ascii_digit());
    let id: i64 = customer_id
        .parse()
        .ok()
        .filter(|id| digits && *id > 0)
        .ok_or_else(|| {
            RestletError::new(
                "INVALID_CUSTOMER_ID",
                format!(
                    "customerId must be a customer internal id (digits only), not {:?}",
                    customer_id.chars().take(40).collect::<String>()
                ),
            )
        })?;
    let missing = || {
        RestletError::new(
            "RCRD_DSNT_EXIST",
            format!("That record does not exist. customer id: {id}"),
        )
    };
    let db = sandbox.inner.account.db();
    let unexpected = |e: rusqlite::Error| RestletError::new("UNEXPECTED_ERROR", e.to_string());
    let row = db
        .conn
        .query_row(
            "SELECT c.creditlimit, cur.symbol, base.symbol
             FROM customer c LEFT JOIN currency cur ON cur.id = c.currency
             LEFT JOIN subsidiary s ON s.id = c.subsidiary
             LEFT JOIN currency base ON base.id = s.currency WHERE c.id = ?1",
            [id],
            |row| {
                Ok((
                    row.get::<_, Option<f64>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(unexpected)?;
    let (credit_limit, currency, base_currency) = row.ok_or_else(missing)?;
    let today = chrono::Utc::now().date_naive();
    let mut open = db
        .conn
        .prepare(
            "SELECT t.type, t.duedate, t.foreignamountremaining, cur.symbol,
                    COALESCE(t.exchangerate, 1) FROM \"transaction\" t
             LEFT JOIN currency cur ON cur.id = t.currency
             WHERE t.entity = ?1 AND t.type IN ('CustInvc', 'CustCred', 'CustPymt')
               AND t.foreignamountremaining <> 0 ORDER BY t.id",
        )
        .map_err(unexpected)?;
    type Item = (String, Option<String>, f64, Option<String>, f64);
    let items: Vec<Item> = open
        .query_map([id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .map_err(unexpected)?
        .collect::<Result<_, _>>()
        .map_err(unexpected)?;
    let due_day = |due: &Option<String>| {
        due.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
    };
    let cents = |v: f64| (v * 100.0).round() / 100.0;
    let (mut owed, mut credit, mut overdue) = (0.0, 0.0, 0.0);
    let mut oldest: Option<NaiveDate> = None;
    let mut by_currency: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (kind, due, remaining, symbol, rate) in &items {
        let remaining = remaining.abs();
        let entry = symbol
            .as_ref()
            .map(|s| by_currency.entry(s.clone()).or_default());
        if kind == "CustInvc" {
            owed += remaining * rate;
            let past_due = due_day(due).filter(|d| *d < today);
            if let Some(entry) = entry {
                entry.0 += remaining;
                entry.1 += if past_due.is_some() { remaining } else { 0.0 };
            }
            if let Some(due) = past_due {
                overdue += remaining * rate;
                oldest = Some(oldest.map_or(due, |o| o.min(due)));
            }
        } else {
            credit += remaining * rate;
            if let Some(entry) = entry {
                entry.0 -= remaining;
            }
        }
    }
    let last_payment = db
        .conn
        .query_row(
            "SELECT trandate, foreigntotal * COALESCE(exchangerate, 1) FROM \"transaction\"
             WHERE entity = ?1 AND type = 'CustPymt' ORDER BY trandate DESC, id DESC LIMIT 1",
            [id],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<f64>>(1)?,
                ))
            },
        )
        .optional()
        .map_err(unexpected)?;
    let (last_date, last_amount) = last_payment.unwrap_or((None, None));
    Ok(json!({
        "customer_id": id.to_string(),
        "balance": cents(owed - credit),
        "overdue_balance": cents(overdue),
        "credit_limit": credit_limit,
        "days_overdue": oldest.map_or(0, |o| (today - o).num_days()),
        "last_payment_date": last_date.and_then(|d| d.get(..10).map(str::to_string)),
        "last_payment_amount": last_amount.map(|a| cents(a.abs())),
        "currency": currency,
        "base_currency": base_currency,
        "by_currency": by_currency
            .into_iter()
            .map(|(currency, (balance, overdue))| json!({
                "currency": currency,
                "balance": cents(balance),
                "overdue_balance": cents(overdue),
            }))
            .collect::<Vec<_>>(),
    }))
}

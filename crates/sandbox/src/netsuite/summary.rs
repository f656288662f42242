//! The customer financial summary RESTlet the NetSuite package ships
//! (`netsuite/src/FileCabinet/SuiteScripts/isthmus/isthmus_summary_rl.js`, script
//! `customscript_isthmus_summary_rl`, deployment `customdeploy_isthmus_summary_rl`), as that script
//! answers once deployed: `GET …&customerId=101` (or `POST {"customerId": "101"}`) →
//! `{"customer_id","balance","overdue_balance","credit_limit","days_overdue","last_payment_date",
//! "last_payment_amount","currency"}`.
//!
//! Computed live from the account's transactions, with the script's arithmetic: `balance` is what
//! open invoices still owe less what open credit memos and unapplied payments hold,
//! `overdue_balance` what invoices past their due date (as of today, UTC) still owe, and
//! `days_overdue` the days since the oldest such due date; the last payment is the latest by date,
//! then id; money in cents. Errors are the script's: `SSS_MISSING_REQD_ARGUMENT`,
//! `INVALID_CUSTOMER_ID` (not digits), `RCRD_DSNT_EXIST`.

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
            "SELECT c.creditlimit, cur.symbol
             FROM customer c LEFT JOIN currency cur ON cur.id = c.currency WHERE c.id = ?1",
            [id],
            |row| {
                Ok((
                    row.get::<_, Option<f64>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .optional()
        .map_err(unexpected)?;
    let (credit_limit, currency) = row.ok_or_else(missing)?;
    let today = chrono::Utc::now().date_naive();
    let mut open = db
        .conn
        .prepare(
            "SELECT type, duedate, foreignamountremaining FROM \"transaction\"
             WHERE entity = ?1 AND type IN ('CustInvc', 'CustCred', 'CustPymt')
               AND foreignamountremaining <> 0 ORDER BY id",
        )
        .map_err(unexpected)?;
    let items: Vec<(String, Option<String>, f64)> = open
        .query_map([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .map_err(unexpected)?
        .collect::<Result<_, _>>()
        .map_err(unexpected)?;
    let due_day = |due: &Option<String>| {
        due.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
    };
    let (mut owed, mut credit, mut overdue) = (0.0, 0.0, 0.0);
    let mut oldest: Option<NaiveDate> = None;
    for (kind, due, remaining) in &items {
        let remaining = remaining.abs();
        if kind == "CustInvc" {
            owed += remaining;
            if let Some(due) = due_day(due).filter(|d| *d < today) {
                overdue += remaining;
                oldest = Some(oldest.map_or(due, |o| o.min(due)));
            }
        } else {
            credit += remaining;
        }
    }
    let last_payment = db
        .conn
        .query_row(
            "SELECT trandate, foreigntotal FROM \"transaction\"
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
    let cents = |v: f64| (v * 100.0).round() / 100.0;
    let (last_date, last_amount) = last_payment.unwrap_or((None, None));
    Ok(json!({
        "customer_id": id.to_string(),
        "balance": cents(owed - credit),
        "overdue_balance": cents(overdue),
        "credit_limit": credit_limit,
        "days_overdue": oldest.map_or(0, |o| (today - o).num_days()),
        "last_payment_date": last_date.and_then(|d| d.get(..10).map(str::to_string)),
        "last_payment_amount": last_amount.map(f64::abs),
        "currency": currency,
    }))
}

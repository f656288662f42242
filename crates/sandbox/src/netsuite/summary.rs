//! The built-in RESTlet "customer financial summary" (`customscript_isthmus_summary`, deploy 1):
//! `GET …&customerId=101` (or `POST {"customerId": "101"}`) answers the customer's balance, overdue
//! balance, credit limit and last payment, as a SuiteScript `N/record` lookup would.
//!
//! Computed live from the account's transactions: `balance` is what open invoices still owe less
//! unapplied credit memos and payments, `overdueBalance` what open invoices past their due date
//! (as of today) still owe, and `lastPayment` the latest customer payment
//! `{"id","tranId","date","amount"}` (`null` when there is none).

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
        .ok_or_else(|| {
            RestletError::new(
                "SSS_MISSING_REQD_ARGUMENT",
                "Missing a required argument: customerId",
            )
        })?;
    let missing = || {
        RestletError::new(
            "RCRD_DSNT_EXIST",
            format!("That record does not exist. customer id: {customer_id}"),
        )
    };
    let id: i64 = customer_id.trim().parse().map_err(|_| missing())?;
    let db = sandbox.inner.account.db();
    let unexpected = |e: rusqlite::Error| RestletError::new("UNEXPECTED_ERROR", e.to_string());
    let row = db
        .conn
        .query_row(
            "SELECT c.companyname, c.creditlimit, cur.symbol
             FROM customer c LEFT JOIN currency cur ON cur.id = c.currency WHERE c.id = ?1",
            [id],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<f64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(unexpected)?;
    let (company, credit_limit, currency) = row.ok_or_else(missing)?;
    let (balance, overdue): (f64, f64) = db
        .conn
        .query_row(
            "SELECT
               ROUND(COALESCE(SUM(CASE WHEN type = 'CustInvc' THEN foreignamountremaining
                                       ELSE -foreignamountremaining END), 0), 2),
               ROUND(COALESCE(SUM(CASE WHEN type = 'CustInvc' AND duedate < date('now')
                                       THEN foreignamountremaining ELSE 0 END), 0), 2)
             FROM \"transaction\"
             WHERE entity = ?1 AND type IN ('CustInvc', 'CustCred', 'CustPymt')",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(unexpected)?;
    let last_payment = db
        .conn
        .query_row(
            "SELECT id, tranid, trandate, foreigntotal FROM \"transaction\"
             WHERE entity = ?1 AND type = 'CustPymt' ORDER BY trandate DESC, id DESC LIMIT 1",
            [id],
            |row| {
                Ok(json!({
                    "id": row.get::<_, i64>(0)?.to_string(),
                    "tranId": row.get::<_, Option<String>>(1)?,
                    "date": row.get::<_, Option<String>>(2)?,
                    "amount": row.get::<_, Option<f64>>(3)?,
                }))
            },
        )
        .optional()
        .map_err(unexpected)?;
    Ok(json!({
        "customerId": id.to_string(),
        "companyName": company,
        "currency": currency,
        "balance": balance,
        "overdueBalance": overdue,
        "creditLimit": credit_limit,
        "lastPayment": last_payment,
    }))
}

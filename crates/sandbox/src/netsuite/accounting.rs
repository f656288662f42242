//! The general ledger behind the account's transactions, as SuiteQL shows it:
//!
//! - `accountingperiod` (`id`, `periodname`, `startdate`, `enddate`, `isyear`, `isquarter`,
//!   `isposting`, `isadjust`, `closed`, `parent`, `isinactive`): the calendar years
//!   [`FIRST_YEAR`]–[`LAST_YEAR`], each with its quarters and months (`Jan 2026`, `Q1 2026`,
//!   `FY 2026`); transactions post to months only. Every period is open (`closed` 'F'): period
//!   close is not modelled;
//! - `account` (`id`, `acctnumber`, `accttype`, `fullname`, `accountsearchdisplayname`,
//!   `displaynamewithhierarchy`, `isinactive`): a small chart of accounts ([`ACCOUNTS`]) with
//!   NetSuite's account type codes (`AcctRec`, `Income`, `DeferRevenue`, `OthCurrAsset`, `Bank`);
//! - `currencyrate` (`id`, `basecurrency`, `transactioncurrency`, `exchangerate`,
//!   `effectivedate`): units of the base currency for one unit of the transaction currency, from
//!   the effective date on ([`RATES`], two EUR→USD rates so the date matters);
//! - `transaction.exchangerate` and `transaction.postingperiod`, set by [`post`] on every write:
//!   the rate from the transaction's currency to its subsidiary's base currency on its date (1
//!   in the base currency, and when no rate is on file: *unconfirmed*, NetSuite refuses such a
//!   transaction), and the month containing its date;
//! - `transactionaccountingline` (`transaction`, `transactionline`, `accountingbook`,
//!   `account`, `debit`, `credit`, `amount`, `netamount`, `exchangerate`, `posting`): the GL
//!   impact in the subsidiary's base currency (foreign amounts × the transaction's rate, to the
//!   cent). An invoice debits Accounts Receivable with its total and credits Sales with each item
//!   line; a credit memo the reverse; a payment debits Undeposited Funds and credits Accounts
//!   Receivable. A sales order's lines show as Sales credits with `posting` 'F' (non-posting;
//!   *unconfirmed* that NetSuite lists them at all). `amount` and `netamount` are debit less
//!   credit (*unconfirmed* sign convention). One primary accounting book (id 1).
//!
//! Not modelled: deferred revenue (revenue recognition), taxes, fulfilment COGS, rounding lines
//! between a total and its converted item lines, and revaluation of open foreign amounts.

use rusqlite::{Connection, Transaction};

use super::schema::DATE_COLUMN;

pub const FIRST_YEAR: i32 = 2024;
pub const LAST_YEAR: i32 = 2028;

/// The chart of accounts: `(id, number, type, name)`.
pub static ACCOUNTS: &[(i64, &str, &str, &str)] = &[
    (1, "1000", "Bank", "Operating Account"),
    (AR, "1100", "AcctRec", "Accounts Receivable"),
    (UNDEPOSITED, "1200", "OthCurrAsset", "Undeposited Funds"),
    (4, "2480", "DeferRevenue", "Deferred Revenue"),
    (SALES, "4000", "Income", "Sales"),
    (6, "4100", "Income", "Services Revenue"),
];
const AR: i64 = 2;
const UNDEPOSITED: i64 = 3;
const SALES: i64 = 5;

/// Exchange rates `(base currency, transaction currency, rate, effective date)`, by the
/// currency ids of [`super::schema`] (1 USD, 2 EUR, 3 GBP).
pub static RATES: &[(i64, i64, f64, &str)] = &[
    (1, 2, 1.10, "2020-01-01"),
    (1, 2, 1.08, "2026-07-01"),
    (1, 3, 1.25, "2020-01-01"),
    (2, 1, 0.91, "2020-01-01"),
    (2, 3, 1.15, "2020-01-01"),
    (3, 1, 0.80, "2020-01-01"),
    (3, 2, 0.87, "2020-01-01"),
];

/// Creates the tables and views above and fills in the setup (a new database only).
pub fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "ALTER TABLE \"transaction\" ADD COLUMN exchangerate REAL;
         ALTER TABLE \"transaction\" ADD COLUMN postingperiod INTEGER;
         CREATE TABLE accountingperiod (id INTEGER PRIMARY KEY, periodname TEXT NOT NULL,
           startdate {DATE_COLUMN} NOT NULL, enddate {DATE_COLUMN} NOT NULL, isyear TEXT NOT NULL,
           isquarter TEXT NOT NULL, isposting TEXT NOT NULL, isadjust TEXT NOT NULL DEFAULT 'F',
           closed TEXT NOT NULL DEFAULT 'F', parent INTEGER, isinactive TEXT NOT NULL DEFAULT 'F');
         CREATE TABLE account (id INTEGER PRIMARY KEY, acctnumber TEXT NOT NULL,
           accttype TEXT NOT NULL, fullname TEXT NOT NULL, accountsearchdisplayname TEXT NOT NULL,
           displaynamewithhierarchy TEXT NOT NULL, isinactive TEXT NOT NULL DEFAULT 'F');
         CREATE TABLE currencyrate (id INTEGER PRIMARY KEY, basecurrency INTEGER NOT NULL,
           transactioncurrency INTEGER NOT NULL, exchangerate REAL NOT NULL,
           effectivedate {DATE_COLUMN} NOT NULL);
         {}",
        ledger_view()
    ))?;
    let mut id = 0;
    for year in FIRST_YEAR..=LAST_YEAR {
        id += 1;
        let year_id = id;
        period(
            conn,
            year_id,
            &format!("FY {year}"),
            (year, 1),
            12,
            "year",
            None,
        )?;
        for quarter in 0..4 {
            id += 1;
            let quarter_id = id;
            let name = format!("Q{} {year}", quarter + 1);
            let first = quarter * 3 + 1;
            period(
                conn,
                quarter_id,
                &name,
                (year, first),
                3,
                "quarter",
                Some(year_id),
            )?;
            for month in first..first + 3 {
                id += 1;
                let start = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
                let name = start.format("%b %Y").to_string();
                period(conn, id, &name, (year, month), 1, "month", Some(quarter_id))?;
            }
        }
    }
    for (id, number, kind, name) in ACCOUNTS {
        conn.execute(
            "INSERT INTO account (id, acctnumber, accttype, fullname, accountsearchdisplayname,
               displaynamewithhierarchy) VALUES (?1, ?2, ?3, ?4, ?2 || ' ' || ?4, ?4)",
            rusqlite::params![id, number, kind, name],
        )?;
    }
    for (base, foreign, rate, effective) in RATES {
        conn.execute(
            "INSERT INTO currencyrate (basecurrency, transactioncurrency, exchangerate, effectivedate)
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![base, foreign, rate, effective],
        )?;
    }
    Ok(())
}

/// One period of `months` months from `(year, month)`.
fn period(
    conn: &Connection,
    id: i64,
    name: &str,
    (year, month): (i32, u32),
    months: u32,
    level: &str,
    parent: Option<i64>,
) -> rusqlite::Result<()> {
    let start = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let end = start
        .checked_add_months(chrono::Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(start);
    let flag = |is: bool| if is { "T" } else { "F" };
    conn.execute(
        "INSERT INTO accountingperiod (id, periodname, startdate, enddate, isyear, isquarter,
           isposting, parent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            id,
            name,
            start.to_string(),
            end.to_string(),
            flag(level == "year"),
            flag(level == "quarter"),
            flag(level == "month"),
            parent
        ],
    )?;
    Ok(())
}

/// Sets the transaction's exchange rate and posting period from its currency, subsidiary and
/// date (run inside every transaction write, before the balances are settled).
pub fn post(tx: &Transaction, id: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE \"transaction\" SET
           exchangerate = COALESCE((SELECT CASE WHEN s.currency = \"transaction\".currency THEN 1.0
               ELSE (SELECT r.exchangerate FROM currencyrate r WHERE r.basecurrency = s.currency
                     AND r.transactioncurrency = \"transaction\".currency
                     AND r.effectivedate <= COALESCE(\"transaction\".trandate, date('now'))
                     ORDER BY r.effectivedate DESC, r.id DESC LIMIT 1) END
             FROM subsidiary s WHERE s.id = \"transaction\".subsidiary), 1.0),
           postingperiod = (SELECT p.id FROM accountingperiod p WHERE p.isposting = 'T'
             AND p.startdate <= COALESCE(\"transaction\".trandate, date('now'))
             AND p.enddate >= COALESCE(\"transaction\".trandate, date('now')))
         WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// SuiteQL's `transactionaccountingline` over the transactions and their lines.
fn ledger_view() -> String {
    let base = "ROUND({amount} * COALESCE(t.exchangerate, 1), 2)";
    let main = base.replace("{amount}", "t.foreigntotal");
    let line = base.replace("{amount}", "l.amount");
    let row = |debit: &str, credit: &str| {
        format!(
            "{debit} AS debit, {credit} AS credit, COALESCE({debit}, 0) - COALESCE({credit}, 0) AS amount,
             COALESCE({debit}, 0) - COALESCE({credit}, 0) AS netamount, t.exchangerate AS exchangerate"
        )
    };
    format!(
        "CREATE VIEW transactionaccountingline AS
           SELECT t.id AS \"transaction\", 0 AS transactionline, 1 AS accountingbook, {AR} AS account,
                  {}, 'T' AS posting
             FROM \"transaction\" t WHERE t.type = 'CustInvc'
           UNION ALL
           SELECT t.id, 0, 1, {AR}, {}, 'T'
             FROM \"transaction\" t WHERE t.type IN ('CustCred', 'CustPymt')
           UNION ALL
           SELECT t.id, 1, 1, {UNDEPOSITED}, {}, 'T'
             FROM \"transaction\" t WHERE t.type = 'CustPymt'
           UNION ALL
           SELECT t.id, l.line, 1, {SALES}, {},
                  CASE WHEN t.type = 'SalesOrd' THEN 'F' ELSE 'T' END
             FROM tranitemline l JOIN \"transaction\" t ON t.id = l.\"transaction\"
            WHERE t.type IN ('CustInvc', 'SalesOrd')
           UNION ALL
           SELECT t.id, l.line, 1, {SALES}, {}, 'T'
             FROM tranitemline l JOIN \"transaction\" t ON t.id = l.\"transaction\"
            WHERE t.type = 'CustCred';",
        row(&main, "NULL"),
        row("NULL", &main),
        row(&main, "NULL"),
        row("NULL", &line),
        row(&line, "NULL"),
    )
}

//! Dates in SuiteQL, Oracle style, over the ISO text the account stores (`2027-01-31`,
//! `2027-01-31T10:00:00Z`):
//!
//! - A result column of date or datetime type comes back in the account's date format, `M/D/YYYY`
//!   (NetSuite's US default preference: `1/31/2027`, no zero padding), as NetSuite shows dates in
//!   the running user's format. A datetime shows its date only, in the account's time zone;
//!   `TO_CHAR` gets its time.
//! - The account's time zone ([`AccountZone`], an IANA zone, UTC unless configured) is the one
//!   NetSuite compares and formats datetimes in: the account stores instants (UTC text), and
//!   `TO_CHAR` writes them as the wall-clock time of the zone, while `TO_DATE`/`TO_TIMESTAMP`
//!   read a time of day as that zone's wall-clock time. A wall-clock time the zone repeats (the
//!   hour a daylight-saving change turns back) is read as its first occurrence, one the zone
//!   skips as if the change had not happened yet (which of the two NetSuite takes is
//!   *unconfirmed*). Plain dates (`trandate`) are calendar days and are never shifted. Which columns are dates is known from their declared
//!   SQLite type ([`DATE_COLUMN`], [`DATETIME_COLUMN`]), so an expression over a date
//!   (`MAX(t.trandate)`, `NVL(t.enddate, …)`) comes back as stored, `2027-01-31`, where NetSuite
//!   would still format it.
//! - `TO_DATE(text, format)` reads a date with an Oracle format model (`YYYY-MM-DD`,
//!   `MM/DD/YYYY`, `DD-MON-YYYY HH24:MI:SS`, …) and gives the stored form, `2027-01-31` (or
//!   `2027-01-31T10:00:00Z` with a time of day), which compares with date and datetime columns as
//!   Oracle compares dates. Text that does not match the format is an invalid query.
//! - `TO_CHAR(date, format)` writes a stored date or datetime with a format model, the usual way
//!   to ask NetSuite for ISO dates (`TO_CHAR(t.enddate, 'YYYY-MM-DD')`) or a datetime's time
//!   (`'YYYY-MM-DD HH24:MI:SS'`); anything else comes back as text.
//!
//! Not modelled: `SYSDATE`, `TRUNC`, `ADD_MONTHS`, date arithmetic, and comparing a date column
//! with a string in the account's format (`t.trandate >= '1/1/2026'`), which SQLite compares as text.

use std::sync::{Arc, RwLock};

use chrono::{
    Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use crate::netsuite::schema::{DATETIME_COLUMN, DATE_COLUMN};

/// Whether a result column's declared type makes it a date to show in the account's format.
pub fn is_date_column(decl_type: Option<&str>) -> bool {
    decl_type.is_some_and(|t| {
        t.eq_ignore_ascii_case(DATE_COLUMN) || t.eq_ignore_ascii_case(DATETIME_COLUMN)
    })
}

/// The account's time zone, shared by the SQL functions and the result rendering so it can
/// change at run time.
#[derive(Clone)]
pub struct AccountZone(Arc<RwLock<Tz>>);

impl AccountZone {
    pub fn new(zone: Tz) -> Self {
        Self(Arc::new(RwLock::new(zone)))
    }

    pub fn get(&self) -> Tz {
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, zone: Tz) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = zone;
    }
}

/// A stored date as a calendar day, or a stored datetime (a UTC instant) as the wall-clock time
/// of `zone`.
fn local(stored: &str, zone: Tz) -> Option<NaiveDateTime> {
    let at = stored_date(stored)?;
    if stored.len() <= 10 {
        return Some(at);
    }
    Some(
        Utc.from_utc_datetime(&at)
            .with_timezone(&zone)
            .naive_local(),
    )
}

/// A wall-clock time of `zone` as a UTC instant: a repeated time is its first occurrence, a
/// skipped one is read with the offset in force before the change.
fn instant(wall: NaiveDateTime, zone: Tz) -> NaiveDateTime {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.naive_utc(),
        LocalResult::None => {
            let before = zone
                .offset_from_utc_datetime(&(wall - chrono::Duration::hours(12)))
                .fix();
            wall - chrono::Duration::seconds(i64::from(before.local_minus_utc()))
        }
    }
}

/// A stored date or datetime in the account's date format, `M/D/YYYY` (a datetime's day in
/// `zone`); other text as it is.
pub fn account_format(stored: &str, zone: Tz) -> String {
    match local(stored, zone) {
        Some(at) => format!("{}/{}/{}", at.month(), at.day(), at.year()),
        None => stored.to_owned(),
    }
}

/// Registers `TO_DATE(text, format)`, `TO_TIMESTAMP(text, format)` and `TO_CHAR(value[, format])`,
/// reading and writing times of day in the account's `zone`.
pub fn register(conn: &Connection, zone: &AccountZone) -> rusqlite::Result<()> {
    // Not deterministic: the answer depends on the account's zone, which can change.
    let flags = FunctionFlags::SQLITE_UTF8;
    // Oracle's TO_TIMESTAMP reads the same format models; both answer the stored form.
    for name in ["TO_DATE", "TO_TIMESTAMP"] {
        let zone = zone.clone();
        conn.create_scalar_function(name, 2, flags, move |ctx| {
            let (Some(text), Some(format)) = (text_arg(ctx, 0)?, text_arg(ctx, 1)?) else {
                return Ok(SqlValue::Null);
            };
            let (wall, has_time) = to_date(&text, &format).map_err(user_error)?;
            let at = if has_time {
                instant(wall, zone.get())
            } else {
                wall
            };
            Ok(SqlValue::Text(stored_form(at)))
        })?;
    }
    let zone = zone.clone();
    conn.create_scalar_function("TO_CHAR", 1, flags, |ctx| {
        Ok(text_arg(ctx, 0)?.map_or(SqlValue::Null, SqlValue::Text))
    })?;
    conn.create_scalar_function("TO_CHAR", 2, flags, move |ctx| {
        let Some(value) = text_arg(ctx, 0)? else {
            return Ok(SqlValue::Null);
        };
        let Some(format) = text_arg(ctx, 1)? else {
            return Ok(SqlValue::Text(value));
        };
        match local(&value, zone.get()) {
            Some(at) => {
                let elements = parse_format(&format).map_err(user_error)?;
                Ok(SqlValue::Text(to_char(at, &elements)))
            }
            None => Ok(SqlValue::Text(value)),
        }
    })?;
    Ok(())
}

fn text_arg(ctx: &Context<'_>, index: usize) -> rusqlite::Result<Option<String>> {
    Ok(match ctx.get_raw(index) {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    })
}

fn user_error(message: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

/// `2027-01-31` or `2027-01-31T10:00:00Z` (the forms the account stores) as a date and time.
fn stored_date(stored: &str) -> Option<NaiveDateTime> {
    let date = NaiveDate::parse_from_str(stored.get(..10)?, "%Y-%m-%d").ok()?;
    let time = match stored.get(10..) {
        None | Some("") => NaiveTime::MIN,
        Some(rest) => {
            let rest = rest.strip_prefix(['T', ' '])?;
            NaiveTime::parse_from_str(rest.trim_end_matches('Z'), "%H:%M:%S").ok()?
        }
    };
    Some(date.and_time(time))
}

/// The stored form of a date: a plain date at midnight, else a UTC datetime.
fn stored_form(at: NaiveDateTime) -> String {
    if at.time() == NaiveTime::MIN {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// An element of an Oracle datetime format model.
#[derive(Debug, Clone, PartialEq)]
enum Element {
    Year4,
    Year2,
    Month,
    /// `MON`, `Mon` or `mon`: the abbreviated month name in the case written.
    MonthAbbr(Case),
    MonthName(Case),
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Meridian,
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Upper,
    Capitalized,
    Lower,
}

impl Case {
    fn of(written: &str) -> Self {
        let mut letters = written.chars();
        match (letters.next(), letters.next()) {
            (Some(a), Some(b)) if a.is_uppercase() && b.is_uppercase() => Case::Upper,
            (Some(a), _) if a.is_uppercase() => Case::Capitalized,
            _ => Case::Lower,
        }
    }

    fn apply(self, name: &str) -> String {
        match self {
            Case::Upper => name.to_uppercase(),
            Case::Capitalized => name.to_owned(),
            Case::Lower => name.to_lowercase(),
        }
    }
}

/// Format elements by their keyword, longest first where one is a prefix of another.
const KEYWORDS: &[&str] = &[
    "YYYY", "YY", "MONTH", "MON", "MM", "MI", "DD", "HH24", "HH12", "HH", "SS", "AM", "PM",
];

fn parse_format(format: &str) -> Result<Vec<Element>, String> {
    let mut elements = Vec::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let end = rest[1..]
                .find('"')
                .ok_or_else(|| format!("unterminated quoted text in date format '{format}'"))?;
            elements.push(Element::Text(rest[1..=end].to_owned()));
            rest = &rest[end + 2..];
            continue;
        }
        if matches!(c, '-' | '/' | ',' | '.' | ';' | ':' | ' ') {
            elements.push(Element::Text(c.to_string()));
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let keyword = KEYWORDS
            .iter()
            .find(|k| {
                rest.get(..k.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(k))
            })
            .ok_or_else(|| format!("date format '{format}' not recognized at '{rest}'"))?;
        let written = &rest[..keyword.len()];
        elements.push(match *keyword {
            "YYYY" => Element::Year4,
            "YY" => Element::Year2,
            "MONTH" => Element::MonthName(Case::of(written)),
            "MON" => Element::MonthAbbr(Case::of(written)),
            "MM" => Element::Month,
            "MI" => Element::Minute,
            "DD" => Element::Day,
            "HH24" => Element::Hour24,
            "HH12" | "HH" => Element::Hour12,
            "SS" => Element::Second,
            _ => Element::Meridian,
        });
        rest = &rest[keyword.len()..];
    }
    Ok(elements)
}

fn to_char(at: NaiveDateTime, elements: &[Element]) -> String {
    let mut out = String::new();
    for element in elements {
        let part = match element {
            Element::Year4 => format!("{:04}", at.year()),
            Element::Year2 => format!("{:02}", at.year().rem_euclid(100)),
            Element::Month => format!("{:02}", at.month()),
            Element::MonthAbbr(case) => case.apply(&at.format("%b").to_string()),
            Element::MonthName(case) => case.apply(&at.format("%B").to_string()),
            Element::Day => format!("{:02}", at.day()),
            Element::Hour24 => format!("{:02}", at.hour()),
            Element::Hour12 => format!("{:02}", at.hour12().1),
            Element::Minute => format!("{:02}", at.minute()),
            Element::Second => format!("{:02}", at.second()),
            Element::Meridian => at.format("%p").to_string(),
            Element::Text(text) => text.clone(),
        };
        out.push_str(&part);
    }
    out
}

/// Reads `text` with a format model: the date and time, and whether the model has a time of day.
fn to_date(text: &str, format: &str) -> Result<(NaiveDateTime, bool), String> {
    let elements = parse_format(format)?;
    let mut pattern = String::new();
    let mut has_time = false;
    for element in &elements {
        has_time |= matches!(
            element,
            Element::Hour24 | Element::Hour12 | Element::Minute | Element::Second
        );
        let part = match element {
            Element::Year4 => "%Y",
            Element::Year2 => "%y",
            Element::Month => "%m",
            Element::MonthAbbr(_) => "%b",
            Element::MonthName(_) => "%B",
            Element::Day => "%d",
            Element::Hour24 => "%H",
            Element::Hour12 => "%I",
            Element::Minute => "%M",
            Element::Second => "%S",
            Element::Meridian => "%p",
            Element::Text(t) => {
                pattern.push_str(&t.replace('%', "%%"));
                continue;
            }
        };
        pattern.push_str(part);
    }
    let mismatch = || format!("'{text}' does not match the date format '{format}'");
    if has_time {
        NaiveDateTime::parse_from_str(text.trim(), &pattern)
            .map(|at| (at, true))
            .map_err(|_| mismatch())
    } else {
        NaiveDate::parse_from_str(text.trim(), &pattern)
            .map(|d| (d.and_time(NaiveTime::MIN), false))
            .map_err(|_| mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        zoned(Tz::UTC)
    }

    fn zoned(zone: Tz) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn, &AccountZone::new(zone)).unwrap();
        conn
    }

    fn one(conn: &Connection, sql: &str) -> rusqlite::Result<Option<String>> {
        conn.query_row(sql, [], |row| row.get(0))
    }

    #[test]
    fn to_date_reads_oracle_format_models_into_the_stored_form() {
        let conn = conn();
        for (sql, stored) in [
            ("SELECT TO_DATE('2027-01-31', 'YYYY-MM-DD')", "2027-01-31"),
            ("SELECT TO_DATE('1/5/2027', 'MM/DD/YYYY')", "2027-01-05"),
            ("SELECT TO_DATE('31-jan-2027', 'DD-MON-YYYY')", "2027-01-31"),
            (
                "SELECT TO_DATE('2027-01-31 14:05:09', 'YYYY-MM-DD HH24:MI:SS')",
                "2027-01-31T14:05:09Z",
            ),
            (
                "SELECT TO_DATE('2027-01-31 00:00:00', 'YYYY-MM-DD HH24:MI:SS')",
                "2027-01-31",
            ),
            (
                "SELECT TO_TIMESTAMP('2027-01-31 14:05:09', 'YYYY-MM-DD HH24:MI:SS')",
                "2027-01-31T14:05:09Z",
            ),
        ] {
            assert_eq!(one(&conn, sql).unwrap().as_deref(), Some(stored), "{sql}");
        }
        assert_eq!(
            one(&conn, "SELECT TO_DATE(NULL, 'YYYY-MM-DD')").unwrap(),
            None
        );
        assert!(one(&conn, "SELECT TO_DATE('31/01/2027', 'YYYY-MM-DD')").is_err());
        assert!(one(&conn, "SELECT TO_DATE('2027-01-31', 'QQ-YYYY')").is_err());
    }

    #[test]
    fn to_date_compares_with_stored_dates_and_datetimes_as_oracle_dates_do() {
        let conn = conn();
        conn.execute_batch(
            "CREATE TABLE t (d DATE_TEXT, at DATETIME_TEXT);
             INSERT INTO t VALUES ('2026-12-01', '2026-12-01T10:00:00Z'), ('2027-01-31', '2027-02-01T00:30:00Z');",
        )
        .unwrap();
        let count = |filter: &str| -> i64 {
            conn.query_row(&format!("SELECT COUNT(*) FROM t WHERE {filter}"), [], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(
            count("d >= TO_DATE('2026-12-01', 'YYYY-MM-DD') AND d <= TO_DATE('2027-01-31', 'YYYY-MM-DD')"),
            2
        );
        assert_eq!(count("d > TO_DATE('12/1/2026', 'MM/DD/YYYY')"), 1);
        // A datetime on the day is after the day's midnight, and before the next.
        assert_eq!(count("at >= TO_DATE('2026-12-01', 'YYYY-MM-DD')"), 2);
        assert_eq!(count("at < TO_DATE('2026-12-02', 'YYYY-MM-DD')"), 1);
        assert_eq!(
            count("at > TO_DATE('2026-12-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS')"),
            1
        );
    }

    #[test]
    fn to_char_writes_stored_dates_with_a_format_model() {
        let conn = conn();
        for (sql, text) in [
            ("SELECT TO_CHAR('2027-01-05', 'YYYY-MM-DD')", "2027-01-05"),
            ("SELECT TO_CHAR('2027-01-05', 'DD.MM.YY')", "05.01.27"),
            (
                "SELECT TO_CHAR('2027-01-05', 'Mon DD, YYYY')",
                "Jan 05, 2027",
            ),
            (
                "SELECT TO_CHAR('2027-01-05T14:05:09Z', 'YYYY-MM-DD\"T\"HH24:MI:SS')",
                "2027-01-05T14:05:09",
            ),
            (
                "SELECT TO_CHAR('2027-01-05T14:05:09Z', 'HH:MI PM')",
                "02:05 PM",
            ),
            ("SELECT TO_CHAR('not a date', 'YYYY')", "not a date"),
            ("SELECT TO_CHAR(42)", "42"),
        ] {
            assert_eq!(one(&conn, sql).unwrap().as_deref(), Some(text), "{sql}");
        }
    }

    #[test]
    fn stored_dates_show_in_the_account_format_and_other_text_as_it_is() {
        assert_eq!(account_format("2027-01-31", Tz::UTC), "1/31/2027");
        assert_eq!(account_format("2026-11-08T23:59:59Z", Tz::UTC), "11/8/2026");
        assert_eq!(account_format("SO2001", Tz::UTC), "SO2001");
        // A datetime shows the account's day; a date is a calendar day, never shifted.
        let la = Tz::America__Los_Angeles;
        assert_eq!(account_format("2026-11-09T03:00:00Z", la), "11/8/2026");
        assert_eq!(account_format("2026-11-09", la), "11/9/2026");
        assert!(is_date_column(Some("DATE_TEXT")));
        assert!(is_date_column(Some("DATETIME_TEXT")));
        assert!(!is_date_column(Some("TEXT")));
        assert!(!is_date_column(None));
    }

    #[test]
    fn datetimes_are_written_and_read_as_the_accounts_wall_clock_across_a_dst_change() {
        let conn = zoned(Tz::America__Los_Angeles);
        let fmt = "'YYYY-MM-DD HH24:MI:SS'";
        for (stored, wall) in [
            // PDT (UTC-7) before the change on 1 November 2026, PST (UTC-8) after.
            ("2026-11-01T07:30:00Z", "2026-11-01 00:30:00"),
            ("2026-11-01T08:30:00Z", "2026-11-01 01:30:00"),
            ("2026-11-01T09:30:00Z", "2026-11-01 01:30:00"),
            ("2026-11-01T10:30:00Z", "2026-11-01 02:30:00"),
            ("2026-11-01", "2026-11-01 00:00:00"),
        ] {
            let sql = format!("SELECT TO_CHAR('{stored}', {fmt})");
            assert_eq!(one(&conn, &sql).unwrap().as_deref(), Some(wall), "{sql}");
        }
        for (wall, stored) in [
            ("2026-11-01 00:30:00", "2026-11-01T07:30:00Z"),
            // The repeated hour reads as its first occurrence (PDT).
            ("2026-11-01 01:30:00", "2026-11-01T08:30:00Z"),
            ("2026-11-01 02:30:00", "2026-11-01T10:30:00Z"),
            // The skipped hour of 8 March 2026 reads with the offset before it (PST).
            ("2026-03-08 02:30:00", "2026-03-08T10:30:00Z"),
        ] {
            let sql = format!("SELECT TO_TIMESTAMP('{wall}', {fmt})");
            assert_eq!(one(&conn, &sql).unwrap().as_deref(), Some(stored), "{sql}");
        }
        assert_eq!(
            one(&conn, "SELECT TO_DATE('2026-11-01', 'YYYY-MM-DD')")
                .unwrap()
                .as_deref(),
            Some("2026-11-01")
        );
    }
}

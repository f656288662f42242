//! A delta window ([`ReadFrom`]) as a query condition, for SOQL (`SystemModstamp`, `Id`) and
//! SuiteQL (`lastmodifieddate`, `id`), with the matching `ORDER BY`. Ids go through each
//! language's string literal escaping; times are formatted from a `DateTime`, never copied
//! from text; field names are code constants, checked to be plain identifiers.
//!
//! The condition reads `modified > since OR (modified = since AND id > after_id)`, or
//! `modified >= since` when there is no `after_id`: exactly [`ReadFrom::admits`].
//!
//! Times are whole seconds. The SOQL literal is UTC and carries its `Z`. SuiteQL's
//! `TO_TIMESTAMP` has no zone: NetSuite reads it, and writes `TO_CHAR` answers, as wall-clock
//! time of the account's time zone, so [`suiteql_condition`] writes the window's instant in that
//! zone and [`parse_suiteql_datetime`] reads an answer back from it. Where the zone turns its
//! clocks back, one wall-clock hour names two instants: it is read as the earlier, which can
//! only make a delta read a record again (harmless: flows are idempotent), never skip one.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{EngineError, Result};
use crate::schedule::cursor::ReadFrom;

/// `(<modified> > <since> OR (<modified> = <since> AND <id> > '<after_id>'))`, or
/// `<modified> >= <since>` without `after_id`, with `since` a SOQL datetime literal
/// (`2026-11-28T03:00:00Z`, unquoted).
pub fn soql_condition(from: &ReadFrom, modified_field: &str, id_field: &str) -> Result<String> {
    let since = from.since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    condition(from, modified_field, id_field, &since, |id| {
        isthmus_salesforce::soql::literal(id)
    })
}

/// The same condition for SuiteQL, `since` as
/// `TO_TIMESTAMP('2026-11-28 03:00:00', 'YYYY-MM-DD HH24:MI:SS')`, the wall-clock time of the
/// account's time zone `zone`.
pub fn suiteql_condition(
    from: &ReadFrom,
    modified_field: &str,
    id_field: &str,
    zone: Tz,
) -> Result<String> {
    let since = suiteql_timestamp(from.since, zone);
    condition(from, modified_field, id_field, &since, |id| {
        isthmus_netsuite::suiteql::literal(id)
    })
}

/// `ORDER BY <modified> ASC, <id> ASC`: the unique order a delta read must use (the same
/// words in SOQL and SuiteQL).
pub fn order_by(modified_field: &str, id_field: &str) -> Result<String> {
    check_field(modified_field)?;
    check_field(id_field)?;
    Ok(format!("ORDER BY {modified_field} ASC, {id_field} ASC"))
}

/// `TO_TIMESTAMP('<at as zone's wall-clock time>', 'YYYY-MM-DD HH24:MI:SS')`.
pub fn suiteql_timestamp(at: DateTime<Utc>, zone: Tz) -> String {
    let text = at
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    format!(
        "TO_TIMESTAMP({}, 'YYYY-MM-DD HH24:MI:SS')",
        isthmus_netsuite::suiteql::literal(&text)
    )
}

/// A SuiteQL `TO_CHAR(…, 'YYYY-MM-DD HH24:MI:SS')` answer, the wall-clock time of the account's
/// time zone `zone`, as the instant it names: the earlier one where the zone repeats that time,
/// the one with the offset before the change where it skips it.
pub fn parse_suiteql_datetime(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let wall = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    Some(match zone.from_local_datetime(&wall) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            let before = zone.offset_from_utc_datetime(&(wall - chrono::Duration::hours(12)));
            let offset = chrono::Offset::fix(&before).local_minus_utc();
            (wall - chrono::Duration::seconds(i64::from(offset))).and_utc()
        }
    })
}

fn condition(
    from: &ReadFrom,
    modified_field: &str,
    id_field: &str,
    since: &str,
    literal: impl Fn(&str) -> String,
) -> Result<String> {
    check_field(modified_field)?;
    check_field(id_field)?;
    Ok(match &from.after_id {
        None => format!("{modified_field} >= {since}"),
        Some(after) => format!(
            "({modified_field} > {since} OR ({modified_field} = {since} AND {id_field} > {}))",
            literal(after)
        ),
    })
}

/// A field name: letters, digits, `_` and `.` (a relationship path), starting with a letter.
fn check_field(name: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "invalid field name {:?} in a delta condition",
            name.chars().take(64).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn since() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap()
    }

    #[test]
    fn soql_uses_an_unquoted_datetime_and_a_quoted_id() {
        let from = ReadFrom {
            since: since(),
            after_id: Some("001A0000000abcdEAA".into()),
        };
        assert_eq!(
            soql_condition(&from, "SystemModstamp", "Id").unwrap(),
            "(SystemModstamp > 2026-11-28T03:00:00Z OR (SystemModstamp = 2026-11-28T03:00:00Z \
             AND Id > '001A0000000abcdEAA'))"
        );
        let overlap = ReadFrom {
            since: since(),
            after_id: None,
        };
        assert_eq!(
            soql_condition(&overlap, "SystemModstamp", "Id").unwrap(),
            "SystemModstamp >= 2026-11-28T03:00:00Z"
        );
    }

    #[test]
    fn suiteql_uses_to_timestamp() {
        let from = ReadFrom {
            since: since(),
            after_id: Some("42".into()),
        };
        let ts = "TO_TIMESTAMP('2026-11-28 03:00:00', 'YYYY-MM-DD HH24:MI:SS')";
        assert_eq!(
            suiteql_condition(&from, "lastmodifieddate", "id", Tz::UTC).unwrap(),
            format!("(lastmodifieddate > {ts} OR (lastmodifieddate = {ts} AND id > '42'))")
        );
    }

    #[test]
    fn ids_are_escaped_for_each_language() {
        let from = ReadFrom {
            since: since(),
            after_id: Some("1' OR '1'='1".into()),
        };
        let soql = soql_condition(&from, "SystemModstamp", "Id").unwrap();
        assert!(soql.ends_with(r"Id > '1\' OR \'1\'=\'1'))"), "{soql}");
        let suiteql = suiteql_condition(&from, "lastmodifieddate", "id", Tz::UTC).unwrap();
        assert!(suiteql.ends_with("id > '1'' OR ''1''=''1'))"), "{suiteql}");
    }

    #[test]
    fn field_names_must_be_identifiers() {
        let from = ReadFrom {
            since: since(),
            after_id: None,
        };
        assert!(soql_condition(&from, "SystemModstamp > 0 OR Id", "Id").is_err());
        assert!(suiteql_condition(&from, "lastmodifieddate", "id;--", Tz::UTC).is_err());
        assert!(order_by("", "Id").is_err());
        assert_eq!(
            order_by("SystemModstamp", "Id").unwrap(),
            "ORDER BY SystemModstamp ASC, Id ASC"
        );
    }

    #[test]
    fn suiteql_times_are_the_accounts_wall_clock() {
        let la = Tz::America__Los_Angeles;
        let from = ReadFrom {
            since: since(),
            after_id: None,
        };
        // 03:00 UTC on 28 November is 19:00 PST the day before.
        assert_eq!(
            suiteql_condition(&from, "lastmodifieddate", "id", la).unwrap(),
            "lastmodifieddate >= TO_TIMESTAMP('2026-11-27 19:00:00', 'YYYY-MM-DD HH24:MI:SS')"
        );
        assert_eq!(
            parse_suiteql_datetime("2026-11-27 19:00:00", la),
            Some(since())
        );
        // Written then read back: the same instant, either side of a change.
        for at in [
            Utc.with_ymd_and_hms(2026, 11, 1, 7, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 8, 9, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 8, 10, 0, 0).unwrap(),
        ] {
            let wall = at
                .with_timezone(&la)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(parse_suiteql_datetime(&wall, la), Some(at), "{wall}");
        }
        // The repeated hour reads as its first occurrence: never later than the truth.
        let second = Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap();
        assert_eq!(
            parse_suiteql_datetime("2026-11-01 01:30:00", la),
            Some(second - chrono::Duration::hours(1))
        );
        assert_eq!(parse_suiteql_datetime("11/1/2026", la), None);
    }
}

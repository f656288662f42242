//! A delta window ([`ReadFrom`]) as a query condition, for SOQL (`SystemModstamp`, `Id`) and
//! SuiteQL (`lastmodifieddate`, `id`), with the matching `ORDER BY`. Ids go through each
//! language's string literal escaping; times are formatted from a `DateTime`, never copied
//! from text; field names are code constants, checked to be plain identifiers.
//!
//! The condition reads `modified > since OR (modified = since AND id > after_id)`, or
//! `modified >= since` when there is no `after_id`: exactly [`ReadFrom::admits`].
//!
//! Times are written in UTC, whole seconds: the SOQL literal carries its `Z`; SuiteQL's
//! `TO_TIMESTAMP` has no zone, so a SuiteQL caller passes a window in the time zone NetSuite
//! compares `lastmodifieddate` in (the account's).

use chrono::{DateTime, Utc};

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
/// `TO_TIMESTAMP('2026-11-28 03:00:00', 'YYYY-MM-DD HH24:MI:SS')`.
pub fn suiteql_condition(from: &ReadFrom, modified_field: &str, id_field: &str) -> Result<String> {
    let since = suiteql_timestamp(from.since);
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

fn suiteql_timestamp(at: DateTime<Utc>) -> String {
    let text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    format!(
        "TO_TIMESTAMP({}, 'YYYY-MM-DD HH24:MI:SS')",
        isthmus_netsuite::suiteql::literal(&text)
    )
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
            suiteql_condition(&from, "lastmodifieddate", "id").unwrap(),
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
        let suiteql = suiteql_condition(&from, "lastmodifieddate", "id").unwrap();
        assert!(suiteql.ends_with("id > '1'' OR ''1''=''1'))"), "{suiteql}");
    }

    #[test]
    fn field_names_must_be_identifiers() {
        let from = ReadFrom {
            since: since(),
            after_id: None,
        };
        assert!(soql_condition(&from, "SystemModstamp > 0 OR Id", "Id").is_err());
        assert!(suiteql_condition(&from, "lastmodifieddate", "id;--").is_err());
        assert!(order_by("", "Id").is_err());
        assert_eq!(
            order_by("SystemModstamp", "Id").unwrap(),
            "ORDER BY SystemModstamp ASC, Id ASC"
        );
    }
}

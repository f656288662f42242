//! Timestamp formats of the two vendors. Both are stored as text that sorts chronologically.

use chrono::{DateTime, Utc};

/// Salesforce datetime as the REST API writes it: `2026-11-28T10:00:00.000+0000`. Salesforce
/// keeps datetimes to the second (the milliseconds always read `.000`, and comparisons ignore
/// them), so the fraction is dropped here: records saved within one second share a stamp.
pub fn sf_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.000+0000").to_string()
}

/// NetSuite datetime as the record API writes it: `2026-11-28T10:00:00Z`.
pub fn ns_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

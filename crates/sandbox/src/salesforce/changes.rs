//! Replication: `GET sobjects/{Object}/updated/?start=&end=` (ids whose `SystemModstamp` falls in
//! the window) and `GET sobjects/{Object}/deleted/?start=&end=` (from the deleted records log the
//! store keeps). As Salesforce documents them (REST "sObject Get Deleted/Updated", SOAP
//! `getDeleted()` / `getUpdated()` rules), on the org's clock:
//!
//! - the seconds of `start` and `end` are dropped (both are whole minutes), and `start` must
//!   precede `end` by more than one minute;
//! - the deleted-records log covers the last **15 days** (`updated`: 30): an older `start`, like
//!   a window the rules refuse, is 400 `INVALID_REPLICATION_DATE`, and deletions older than that
//!   are purged from the log (`earliestDateAvailable` is the oldest one left);
//! - `latestDateCovered` is `end`, or now when earlier, to the minute.
//!
//! "No more than 15 days previous to the day the call is executed" is read strictly here
//! (15 × 24 hours before now), the narrower of its two readings.

use chrono::{DateTime, Duration, DurationRound, FixedOffset, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::rest::{Call, Reply, Request};
use super::sobjects::object_of;
use crate::time::sf_timestamp;

/// How far back `start` of `updated` may go.
const UPDATED_WINDOW_DAYS: i64 = 30;
/// How far back the deleted-records log goes (and `start` of `deleted` may go).
pub const DELETED_LOG_DAYS: i64 = 15;

pub fn updated(call: &mut Call, object: &str, request: &Request) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let (start, end, covered) = window(request, call.org.now(), UPDATED_WINDOW_DAYS)?;
    let sql = format!(
        "SELECT \"Id\" FROM \"{}\" WHERE \"SystemModstamp\" >= ?1 AND \"SystemModstamp\" <= ?2 ORDER BY \"SystemModstamp\", rowid",
        object.name
    );
    let mut stmt = call.db.conn.prepare(&sql)?;
    let ids: Vec<String> = stmt
        .query_map([&start, &end], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Reply::ok(
        json!({ "ids": ids, "latestDateCovered": covered }),
    ))
}

pub fn deleted(call: &mut Call, object: &str, request: &Request) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let now = call.org.now();
    let (start, end, covered) = window(request, now, DELETED_LOG_DAYS)?;
    let purged_before = sf_timestamp(now - Duration::days(DELETED_LOG_DAYS));
    call.db.conn.execute(
        "DELETE FROM \"__Deleted\" WHERE \"DeletedDate\" < ?1",
        [&purged_before],
    )?;
    let mut stmt = call.db.conn.prepare(
        "SELECT \"Id\", \"DeletedDate\" FROM \"__Deleted\" WHERE \"Object\" = ?1 AND \"DeletedDate\" >= ?2 AND \"DeletedDate\" <= ?3 ORDER BY \"DeletedDate\", \"Id\"",
    )?;
    let records: Vec<Value> = stmt
        .query_map([object.name, &start, &end], |row| {
            Ok(json!({ "id": row.get::<_, String>(0)?, "deletedDate": row.get::<_, String>(1)? }))
        })?
        .collect::<Result<_, _>>()?;
    let earliest: Option<String> = call.db.conn.query_row(
        "SELECT MIN(\"DeletedDate\") FROM \"__Deleted\" WHERE \"Object\" = ?1",
        [object.name],
        |row| row.get(0),
    )?;
    Ok(Reply::ok(json!({
        "deletedRecords": records,
        "earliestDateAvailable": earliest.unwrap_or_else(|| covered.clone()),
        "latestDateCovered": covered,
    })))
}

/// `(start, end, latestDateCovered)` as stored-timestamp text, for a log covering `days` back
/// from `now`.
fn window(
    request: &Request,
    now: DateTime<Utc>,
    days: i64,
) -> Result<(String, String, String), ApiError> {
    let start = to_the_minute(datetime(request, "start")?);
    let end = to_the_minute(datetime(request, "end")?);
    if end - start <= Duration::minutes(1) {
        return Err(invalid_date(
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    if start < now - Duration::days(days) {
        return Err(invalid_date(&format!(
            "startDate cannot be more than {days} days ago"
        )));
    }
    let covered = to_the_minute(end.min(now));
    Ok((
        sf_timestamp(start),
        sf_timestamp(end),
        sf_timestamp(covered),
    ))
}

/// Salesforce drops the seconds of a replication date.
fn to_the_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::minutes(1)).unwrap_or(at)
}

fn datetime(request: &Request, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = request
        .param(name)
        .ok_or_else(|| invalid_date(&format!("Missing parameter: {name}")))?;
    let normalized = raw.trim().replace(' ', "+");
    let parsed = DateTime::parse_from_rfc3339(&normalized).or_else(|_| {
        DateTime::<FixedOffset>::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f%z")
    });
    parsed
        .map(|dt| dt.with_timezone(&Utc))
        .map_err(|_| invalid_date(&format!("Invalid {name} date: {raw}")))
}

/// A window the rules refuse (documented as `INVALID_REPLICATION_DATE`; the message text is
/// ours).
fn invalid_date(message: &str) -> ApiError {
    ApiError::bad_request("INVALID_REPLICATION_DATE", message)
}

//! Replication: `GET sobjects/{Object}/updated/?start=&end=` (ids whose `SystemModstamp` falls in
//! the window) and `GET sobjects/{Object}/deleted/?start=&end=` (from the deleted records log the
//! store keeps). As in Salesforce, `start` may be at most 30 days back and must precede `end`;
//! `latestDateCovered` is `end` (or now, when earlier) truncated to the minute.

use chrono::{DateTime, Duration, DurationRound, FixedOffset, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::rest::{Call, Reply, Request};
use super::sobjects::object_of;
use crate::time::{now, sf_timestamp};

/// How far back `start` may go.
const REPLICATION_WINDOW_DAYS: i64 = 30;

pub fn updated(call: &mut Call, object: &str, request: &Request) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let (start, end, covered) = window(request)?;
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
    let (start, end, covered) = window(request)?;
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

/// `(start, end, latestDateCovered)` as stored-timestamp text.
fn window(request: &Request) -> Result<(String, String, String), ApiError> {
    let start = datetime(request, "start")?;
    let end = datetime(request, "end")?;
    let now = now();
    if start > end {
        return Err(invalid_date("start date must be before the end date"));
    }
    if start < now - Duration::days(REPLICATION_WINDOW_DAYS) {
        return Err(invalid_date("startDate cannot be more than 30 days ago"));
    }
    let covered = end
        .min(now)
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(end);
    Ok((
        sf_timestamp(start),
        sf_timestamp(end),
        sf_timestamp(covered),
    ))
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

/// The error code for a bad replication window is *unconfirmed*.
fn invalid_date(message: &str) -> ApiError {
    ApiError::bad_request("INVALID_REPLICATION_DATE", message)
}

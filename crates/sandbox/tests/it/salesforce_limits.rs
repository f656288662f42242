//! Limits a real org enforces on replication and query cursors, met on the org's clock:
//! the deleted-records log covers 15 days, a replication window drops its seconds and must span
//! more than a minute, and a user holds at most 10 query cursors, each expiring after 15 idle
//! minutes.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use isthmus_sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, start, urlencode, Harness};

fn at(t: DateTime<Utc>) -> String {
    urlencode(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

async fn deleted(h: &Harness, start: DateTime<Utc>, end: DateTime<Utc>) -> (u16, Value) {
    let response = h
        .sf(
            Method::GET,
            &format!(
                "sobjects/Account/deleted/?start={}&end={}",
                at(start),
                at(end)
            ),
            None,
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn refused_as_invalid_replication_date(answer: &(u16, Value)) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(
        answer.1[0]["errorCode"], "INVALID_REPLICATION_DATE",
        "{}",
        answer.1
    );
}

async fn account(h: &Harness, name: &str) -> String {
    h.sandbox
        .sf_insert(
            "Account",
            json!({ "Name": name }).as_object().unwrap().clone(),
        )
        .unwrap()
}

#[tokio::test]
async fn the_deleted_records_log_reaches_back_15_days_not_30() {
    let h = empty().await;
    let org = h.sandbox.salesforce_org();
    let now = org.now();
    refused_as_invalid_replication_date(&deleted(&h, now - Duration::days(16), now).await);
    let (status, within) = deleted(&h, now - Duration::days(14), now).await;
    assert_eq!(status, 200, "{within}");
    // The same 16 days back is fine for `updated`, which covers 30.
    let response = h
        .sf(
            Method::GET,
            &format!(
                "sobjects/Account/updated/?start={}&end={}",
                at(now - Duration::days(16)),
                at(now)
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn deletions_older_than_15_days_leave_the_log() {
    let h = empty().await;
    let org = h.sandbox.salesforce_org();
    let old = account(&h, "Deleted Long Ago").await;
    let recent = account(&h, "Deleted Lately").await;
    org.shift_clock(Duration::days(-16));
    h.sf(Method::DELETE, &format!("sobjects/Account/{old}"), None)
        .await;
    org.shift_clock(Duration::days(6));
    h.sf(Method::DELETE, &format!("sobjects/Account/{recent}"), None)
        .await;
    org.reset_clock();

    let now = org.now();
    let (status, log) = deleted(&h, now - Duration::days(15) + Duration::minutes(5), now).await;
    assert_eq!(status, 200, "{log}");
    let ids: Vec<&str> = log["deletedRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [recent.as_str()], "{log}");
    let earliest = log["earliestDateAvailable"].as_str().unwrap();
    assert_eq!(earliest, log["deletedRecords"][0]["deletedDate"], "{log}");
}

#[tokio::test]
async fn a_window_drops_its_seconds_and_must_span_more_than_a_minute() {
    let h = empty().await;
    let minute = |t: DateTime<Utc>| t - Duration::seconds(i64::from(t.timestamp() as u32 % 60));
    let base = minute(h.sandbox.salesforce_org().now()) - Duration::hours(1);
    // 10:00:30 → 10:01:59 is 10:00 → 10:01 once the seconds go: one minute, refused.
    refused_as_invalid_replication_date(
        &deleted(
            &h,
            base + Duration::seconds(30),
            base + Duration::seconds(119),
        )
        .await,
    );
    // End before start.
    refused_as_invalid_replication_date(&deleted(&h, base, base - Duration::minutes(5)).await);
    // 10:00:59 → 10:02:00 is 10:00 → 10:02: two minutes, answered, covered to the minute.
    let (status, log) = deleted(
        &h,
        base + Duration::seconds(59),
        base + Duration::minutes(2),
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let covered = log["latestDateCovered"].as_str().unwrap();
    let expected = (base + Duration::minutes(2))
        .format("%Y-%m-%dT%H:%M:%S.000+0000")
        .to_string();
    assert_eq!(covered, expected);
}

/// A query over `n` accounts in pages of 5; its first page's `nextRecordsUrl`.
async fn open_cursor(h: &Harness) -> String {
    let page: Value = h
        .soql("SELECT Id, Name FROM Account ORDER BY Id")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["done"], false, "{page}");
    page["nextRecordsUrl"].as_str().unwrap().to_owned()
}

async fn next(h: &Harness, url: &str) -> (u16, Value) {
    let response = h.sf(Method::GET, url, None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn paged_org() -> Harness {
    let h = start(SandboxConfig {
        sf_query_page_size: 5,
        ..SandboxConfig::default()
    })
    .await;
    for i in 0..12 {
        account(&h, &format!("Cursor Account {i:02}")).await;
    }
    h
}

fn invalid_query_locator(answer: &(u16, Value)) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(
        answer.1,
        json!([{ "message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR" }])
    );
}

#[tokio::test]
async fn an_eleventh_query_cursor_releases_the_oldest() {
    let h = paged_org().await;
    let mut cursors = Vec::new();
    for _ in 0..11 {
        cursors.push(open_cursor(&h).await);
    }
    invalid_query_locator(&next(&h, &cursors[0]).await);
    for cursor in &cursors[1..] {
        let (status, page) = next(&h, cursor).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["records"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn a_query_cursor_expires_after_15_idle_minutes() {
    let h = paged_org().await;
    let org = h.sandbox.salesforce_org();
    let cursor = open_cursor(&h).await;
    org.shift_clock(Duration::minutes(14));
    let (status, page) = next(&h, &cursor).await;
    assert_eq!(status, 200, "{page}");
    // Reading it again restarts its idle time: 14 more minutes are still within.
    let more = page["nextRecordsUrl"].as_str().unwrap().to_owned();
    org.shift_clock(Duration::minutes(14));
    let (status, page) = next(&h, &more).await;
    assert_eq!(status, 200, "{page}");
    let last = open_cursor(&h).await;
    org.shift_clock(Duration::minutes(16));
    invalid_query_locator(&next(&h, &last).await);
}

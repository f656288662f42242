//! Paged reads that lose their query cursor: more than 10 walks at once (Salesforce releases a
//! user's oldest cursor when an eleventh opens) and a walk left idle past 15 minutes both read
//! every record exactly once, restarting after the last `Id` they read.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use isthmus_salesforce::KeysetQuery;
use isthmus_sandbox::credentials::SF_CLIENT_SECRET;
use isthmus_sandbox::SandboxConfig;
use serde_json::json;

use crate::{fields, org_with, Org, QUERY, QUERY_MORE};

const ACCOUNTS: usize = 23;

/// An org with [`ACCOUNTS`] accounts (and one that the walks' filter leaves out), in pages of 5.
async fn paged_org() -> Org {
    let config = SandboxConfig {
        sf_query_page_size: 5,
        ..Default::default()
    };
    let org = org_with(config, "61.0", SF_CLIENT_SECRET).await;
    for n in 0..ACCOUNTS {
        org.sandbox
            .sf_insert(
                "Account",
                fields(json!({ "Name": format!("Walked {n:02}") })),
            )
            .unwrap();
    }
    org.sandbox
        .sf_insert("Account", fields(json!({ "Name": "Left Out" })))
        .unwrap();
    org
}

fn walked() -> KeysetQuery {
    KeysetQuery::new("SELECT Id, Name FROM Account").filter("Name LIKE 'Walked%'")
}

/// Each name read, with how many times.
fn tally(names: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for name in names {
        *seen.entry(name).or_default() += 1;
    }
    seen
}

fn every_account_once(seen: &BTreeMap<String, usize>) {
    let expected: BTreeMap<String, usize> = (0..ACCOUNTS)
        .map(|n| (format!("Walked {n:02}"), 1))
        .collect();
    assert_eq!(seen, &expected);
}

fn names(page: &[serde_json::Map<String, serde_json::Value>]) -> Vec<String> {
    page.iter()
        .map(|r| r["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn twelve_walks_at_once_each_read_every_record_once() {
    let org = paged_org().await;
    let mut walks: Vec<_> = (0..12)
        .map(|_| Box::pin(org.client.query_pages_by_id(walked())))
        .collect();
    let mut seen = vec![Vec::new(); walks.len()];
    // Each walk opens its cursor before any reads its second page: the first two are released.
    for (walk, seen) in walks.iter_mut().zip(&mut seen) {
        seen.extend(names(&walk.next().await.unwrap().unwrap()));
    }
    for (walk, seen) in walks.iter_mut().zip(&mut seen) {
        while let Some(page) = walk.try_next().await.unwrap() {
            seen.extend(names(&page));
        }
    }
    for names in seen {
        every_account_once(&tally(names));
    }
    let calls = org.sandbox.calls();
    // 12 first pages and 12 restarts: the two oldest cursors were released by the last two
    // walks, and each restart's new cursor released the next oldest, so every walk (drained
    // one after another here) lost its cursor once and asked again after its last Id.
    assert_eq!(calls.get(QUERY), 24, "{calls:?}");
    assert!(calls.get(QUERY_MORE) >= 12 * 3, "{calls:?}");
}

#[tokio::test]
async fn a_walk_idle_past_15_minutes_restarts_after_the_last_id_it_read() {
    let org = paged_org().await;
    let mut walk = Box::pin(org.client.query_pages_by_id(walked()));
    let mut seen = names(&walk.next().await.unwrap().unwrap());
    seen.extend(names(&walk.next().await.unwrap().unwrap()));
    org.sandbox
        .salesforce_org()
        .shift_clock(chrono::Duration::minutes(16));
    while let Some(page) = walk.try_next().await.unwrap() {
        seen.extend(names(&page));
    }
    every_account_once(&tally(seen));
    assert_eq!(org.sandbox.calls().get(QUERY), 2, "one restart");
}

#[tokio::test]
async fn a_plain_paged_query_fails_on_a_lost_cursor() {
    // What the keyset walk is for: following `nextRecordsUrl` alone cannot recover.
    let org = paged_org().await;
    let mut pages = Box::pin(
        org.client
            .query_pages("SELECT Id, Name FROM Account ORDER BY Id"),
    );
    pages.next().await.unwrap().unwrap();
    org.sandbox
        .salesforce_org()
        .shift_clock(chrono::Duration::minutes(16));
    let err = pages.next().await.unwrap().unwrap_err();
    assert!(err.is_invalid_query_locator(), "{err}");
    assert_eq!(err.status(), Some(400));
}

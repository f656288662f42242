//! SuiteQL's cap on offset paging (NetSuite: 100,000 rows, here set to 10): a page is cut at the
//! cap, a page past it is refused, and a keyset walk (`WHERE id > :last ORDER BY id`) reads every
//! row however many there are.

use isthmus_sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{start, Harness};

const CAP: usize = 10;
const CUSTOMERS: usize = 25;

async fn capped() -> Harness {
    let h = start(SandboxConfig {
        netsuite_suiteql_row_cap: CAP,
        ..SandboxConfig::default()
    })
    .await;
    for i in 0..CUSTOMERS {
        let fields = json!({"companyName": format!("Customer {i:02}")});
        h.sandbox
            .ns_insert("customer", fields.as_object().unwrap().clone())
            .unwrap();
    }
    h
}

async fn page(h: &Harness, query: &str, limit: usize, offset: usize) -> reqwest::Response {
    h.ns(
        Method::POST,
        &format!("query/v1/suiteql?limit={limit}&offset={offset}"),
        Some(json!({ "q": query })),
    )
    .await
}

#[tokio::test]
async fn offset_paging_stops_at_the_cap_and_a_page_past_it_is_refused() {
    let h = capped().await;
    let q = "SELECT id FROM customer ORDER BY id";
    let first: Value = page(&h, q, 5, 5).await.json().await.unwrap();
    assert_eq!(first["count"], 5);
    assert_eq!(first["hasMore"], true);
    // A page reaching over the cap is cut at it.
    let wide: Value = page(&h, q, 20, 0).await.json().await.unwrap();
    assert_eq!(wide["count"], CAP);
    assert_eq!(wide["hasMore"], true);
    assert_eq!(wide["totalResults"], CUSTOMERS);
    // The page at the cap is refused, not answered short or empty.
    let past = page(&h, q, 5, CAP).await;
    assert_eq!(past.status(), 400);
    let body: Value = past.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "INVALID_PARAMETER"
    );
}

#[tokio::test]
async fn a_keyset_walk_reads_every_row_past_the_cap() {
    let h = capped().await;
    let mut seen = Vec::new();
    let mut after = 0_i64;
    loop {
        let q = format!("SELECT id, companyname FROM customer WHERE id > {after} ORDER BY id");
        let body: Value = page(&h, &q, 4, 0).await.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        for item in items {
            seen.push(item["companyname"].as_str().unwrap().to_owned());
        }
        match items.last() {
            Some(last) if body["hasMore"] == true => {
                after = last["id"].as_str().unwrap().parse().unwrap();
            }
            _ => break,
        }
    }
    let expected: Vec<String> = (0..CUSTOMERS).map(|i| format!("Customer {i:02}")).collect();
    assert_eq!(seen, expected);
}

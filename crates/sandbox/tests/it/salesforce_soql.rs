//! SOQL beyond simple filters, over HTTP: date literals, datetime offsets, aggregates with
//! GROUP BY, semi-joins, NULLS FIRST/LAST, OFFSET, relationship filters, paged child subqueries
//! and `queryAll` with the recycle bin.

use chrono::{Duration, Utc};
use isthmus_sandbox::seed;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::harness::{empty, seeded, urlencode, Harness};

async fn rows(h: &Harness, soql: &str) -> Value {
    let response = h.soql(soql).await;
    assert_eq!(response.status(), 200, "{soql}");
    response.json().await.unwrap()
}

async fn error(h: &Harness, soql: &str) -> (u16, String) {
    let response = h.soql(soql).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body[0]["errorCode"].as_str().unwrap().to_owned())
}

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn names(body: &Value, key: &str) -> Vec<String> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// An empty org with one account and opportunities closing `days` from today.
async fn opportunities_closing(days: &[i64]) -> Harness {
    let h = empty().await;
    let account = h
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Dated" })))
        .unwrap();
    for day in days {
        let close = (Utc::now().date_naive() + Duration::days(*day)).to_string();
        let opportunity = json!({
            "Name": format!("Closes {day}"), "AccountId": account,
            "StageName": "Prospecting", "CloseDate": close,
        });
        h.sandbox
            .sf_insert("Opportunity", fields(opportunity))
            .unwrap();
    }
    h
}

#[tokio::test]
async fn date_literals_select_ranges_of_days_relative_to_today() {
    let h = opportunities_closing(&[-40, -1, 0, 3]).await;
    let closing = |condition: &'static str| {
        let h = &h;
        async move {
            let soql = format!("SELECT Name FROM Opportunity WHERE {condition} ORDER BY CloseDate");
            names(&rows(h, &soql).await, "Name")
        }
    };
    assert_eq!(closing("CloseDate = TODAY").await, ["Closes 0"]);
    assert_eq!(closing("CloseDate = YESTERDAY").await, ["Closes -1"]);
    assert_eq!(
        closing("CloseDate = LAST_N_DAYS:1").await,
        ["Closes -1", "Closes 0"]
    );
    assert_eq!(closing("CloseDate = NEXT_N_DAYS:3").await, ["Closes 3"]);
    assert_eq!(closing("CloseDate < LAST_N_DAYS:30").await, ["Closes -40"]);
    assert_eq!(closing("CloseDate > TODAY").await, ["Closes 3"]);
    assert_eq!(
        closing("CloseDate IN (TODAY, N_DAYS_AGO:40)").await,
        ["Closes -40", "Closes 0"]
    );
    assert_eq!(closing("CloseDate != TODAY").await.len(), 3);
    // A dateTime field compares with the same ranges (UTC days).
    assert_eq!(closing("CreatedDate = TODAY").await.len(), 4);
    assert_eq!(closing("CreatedDate = LAST_WEEK").await.len(), 0);
}

#[tokio::test]
async fn a_date_literal_on_a_text_field_is_a_filter_type_error() {
    let h = empty().await;
    let (status, code) = error(&h, "SELECT Id FROM Account WHERE Name = TODAY").await;
    assert_eq!(
        (status, code.as_str()),
        (400, "INVALID_QUERY_FILTER_OPERATOR")
    );
    let (status, code) = error(&h, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS").await;
    assert_eq!((status, code.as_str()), (400, "MALFORMED_QUERY"));
}

#[tokio::test]
async fn datetime_literals_with_offsets_compare_in_utc() {
    // Seeded accounts are created at 09:00Z, 09:01Z, … on 2026-01-12.
    let h = seeded().await;
    for literal in [
        "2026-01-12T09:05:00Z",
        "2026-01-12T10:05:00+01:00",
        "2026-01-12T01:05:00-08:00",
    ] {
        let body = rows(
            &h,
            &format!("SELECT COUNT() FROM Account WHERE CreatedDate < {literal}"),
        )
        .await;
        assert_eq!(body["totalSize"], 5, "{literal}");
    }
}

#[tokio::test]
async fn count_of_a_field_returns_an_aggregate_result() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT COUNT(Id), COUNT(ShippingCity) shipped FROM Account",
    )
    .await;
    assert_eq!(body["totalSize"], 1);
    let result = &body["records"][0];
    assert_eq!(result["attributes"], json!({ "type": "AggregateResult" }));
    assert_eq!(result["expr0"], seed::ACCOUNT_COUNT);
    let shipped = seed::accounts()
        .iter()
        .filter(|a| a.shipping.is_some())
        .count();
    assert_eq!(result["shipped"], shipped);
}

#[tokio::test]
async fn group_by_counts_per_key_with_having_and_aggregate_order() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT BillingCountry, COUNT(Id) n FROM Account GROUP BY BillingCountry \
         HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    )
    .await;
    let mut expected: Vec<(String, usize)> = Vec::new();
    for account in seed::accounts() {
        let country = account.billing.4.to_owned();
        match expected.iter_mut().find(|(c, _)| *c == country) {
            Some((_, n)) => *n += 1,
            None => expected.push((country, 1)),
        }
    }
    expected.retain(|(_, n)| *n > 1);
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let got: Vec<(String, usize)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["BillingCountry"].as_str().unwrap().to_owned(),
                r["n"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn group_by_a_parent_field_and_ungrouped_fields_are_refused() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT Account.Name, COUNT(Id) FROM Contact WHERE Account.Name = 'Northwind Traders' GROUP BY Account.Name",
    )
    .await;
    assert_eq!(body["records"][0]["Name"], seed::FRESH_ACCOUNT_NAME);
    assert_eq!(body["records"][0]["expr0"], 3);
    let (status, code) = error(&h, "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry").await;
    assert_eq!((status, code.as_str()), (400, "MALFORMED_QUERY"));
}

#[tokio::test]
async fn count_honours_limit_and_group_by() {
    let h = seeded().await;
    assert_eq!(
        rows(&h, "SELECT COUNT() FROM Account LIMIT 5").await["totalSize"],
        5
    );
    let countries = rows(&h, "SELECT COUNT() FROM Account GROUP BY BillingCountry").await;
    let mut distinct: Vec<&str> = seed::accounts().iter().map(|a| a.billing.4).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(countries["totalSize"], distinct.len());
}

#[tokio::test]
async fn semi_join_and_anti_join_select_parents_by_their_children() {
    let h = seeded().await;
    let with_ceo = |a: &&seed::SeedAccount| a.contacts.iter().any(|(_, _, title)| *title == "CEO");
    let mut expected: Vec<&str> = seed::accounts()
        .iter()
        .filter(with_ceo)
        .map(|a| a.name)
        .collect();
    expected.sort_unstable();
    let body = rows(
        &h,
        "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Title = 'CEO') ORDER BY Name",
    )
    .await;
    let mut got = names(&body, "Name");
    got.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    let without = rows(
        &h,
        "SELECT COUNT() FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact WHERE Title = 'CEO')",
    )
    .await;
    assert_eq!(without["totalSize"], seed::ACCOUNT_COUNT - expected.len());
    let (status, code) = error(
        &h,
        "SELECT Id FROM Account WHERE Name IN (SELECT LastName FROM Contact)",
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "MALFORMED_QUERY"));
}

#[tokio::test]
async fn nulls_first_and_last_place_empty_values() {
    let h = seeded().await;
    let first = rows(
        &h,
        "SELECT ShippingCity FROM Account ORDER BY ShippingCity NULLS FIRST",
    )
    .await;
    let last = rows(
        &h,
        "SELECT ShippingCity FROM Account ORDER BY ShippingCity DESC NULLS LAST",
    )
    .await;
    let (first, last) = (&first["records"], &last["records"]);
    assert!(first[0]["ShippingCity"].is_null());
    assert!(!first[seed::ACCOUNT_COUNT - 1]["ShippingCity"].is_null());
    assert!(!last[0]["ShippingCity"].is_null());
    assert!(last[seed::ACCOUNT_COUNT - 1]["ShippingCity"].is_null());
}

#[tokio::test]
async fn offset_skips_rows_up_to_the_documented_maximum() {
    let h = seeded().await;
    let all = names(
        &rows(&h, "SELECT Name FROM Account ORDER BY Name").await,
        "Name",
    );
    let page = rows(
        &h,
        "SELECT Name FROM Account ORDER BY Name LIMIT 5 OFFSET 10",
    )
    .await;
    assert_eq!(names(&page, "Name"), all[10..15]);
    assert_eq!(
        rows(&h, "SELECT Name FROM Account OFFSET 2000").await["totalSize"],
        0
    );
    let (status, code) = error(&h, "SELECT Name FROM Account OFFSET 2001").await;
    assert_eq!((status, code.as_str()), (400, "NUMBER_OUTSIDE_VALID_RANGE"));
}

#[tokio::test]
async fn relationship_fields_filter_and_sort() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT LastName, Account.Name FROM Contact WHERE Account.Name = 'northwind traders' \
         AND CreatedBy.Name LIKE 'Ada%' ORDER BY Account.Name, LastName",
    )
    .await;
    assert_eq!(body["totalSize"], 3);
    for record in body["records"].as_array().unwrap() {
        assert_eq!(record["Account"]["Name"], seed::FRESH_ACCOUNT_NAME);
    }
}

/// An empty org with one account and `n` contacts named `C000`, `C001`, …
async fn account_with_contacts(n: usize) -> Harness {
    let h = empty().await;
    let account = h
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Big" })))
        .unwrap();
    for i in 0..n {
        let contact = json!({ "AccountId": account, "LastName": format!("C{i:03}") });
        h.sandbox.sf_insert("Contact", fields(contact)).unwrap();
    }
    h
}

#[tokio::test]
async fn child_subquery_over_the_child_page_size_pages_with_its_own_locator() {
    let h = account_with_contacts(7).await;
    h.sandbox.salesforce_org().set_child_page_size(3);
    let body = rows(
        &h,
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account",
    )
    .await;
    let mut contacts = body["records"][0]["Contacts"].clone();
    assert_eq!(contacts["totalSize"], 7);
    let mut seen = names(&contacts, "LastName");
    while contacts["done"] == false {
        let next = contacts["nextRecordsUrl"].as_str().unwrap().to_owned();
        let response = h.sf(Method::GET, &next, None).await;
        assert_eq!(response.status(), 200);
        contacts = response.json().await.unwrap();
        seen.extend(names(&contacts, "LastName"));
    }
    let expected: Vec<String> = (0..7).map(|i| format!("C{i:03}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn child_subquery_pages_after_200_rows_by_default() {
    let h = account_with_contacts(201).await;
    let body = rows(&h, "SELECT (SELECT Id FROM Contacts) FROM Account").await;
    let contacts = &body["records"][0]["Contacts"];
    assert_eq!(contacts["totalSize"], 201);
    assert_eq!(contacts["done"], false);
    assert_eq!(contacts["records"].as_array().unwrap().len(), 200);
    assert!(contacts["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .starts_with("/services/data/v61.0/query/01g"));
}

#[tokio::test]
async fn query_all_sees_deleted_records_in_the_recycle_bin() {
    let h = account_with_contacts(2).await;
    let account = h.sandbox.sf_records("Account")[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = h
        .sf(Method::DELETE, &format!("sobjects/Account/{account}"), None)
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        rows(&h, "SELECT COUNT() FROM Contact").await["totalSize"],
        0
    );
    let query_all = |soql: &str| {
        let url = format!("queryAll?q={}", urlencode(soql));
        let h = &h;
        async move {
            let response = h.sf(Method::GET, &url, None).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let accounts = query_all("SELECT Id, Name, IsDeleted FROM Account").await;
    assert_eq!(accounts["totalSize"], 1);
    assert_eq!(accounts["records"][0]["IsDeleted"], true);
    assert_eq!(accounts["records"][0]["Id"], account);
    let contacts = query_all(
        "SELECT LastName, Account.Name FROM Contact WHERE IsDeleted = true ORDER BY LastName",
    )
    .await;
    assert_eq!(names(&contacts, "LastName"), ["C000", "C001"]);
    assert_eq!(contacts["records"][0]["Account"]["Name"], "Big");
    let live = query_all("SELECT COUNT() FROM Account WHERE IsDeleted = false").await;
    assert_eq!(live["totalSize"], 0);
}

#[tokio::test]
async fn owner_defaults_to_the_creating_user_and_owner_name_filters() {
    let h = seeded().await;
    let by_admin = rows(
        &h,
        "SELECT Name, Owner.Name FROM Account WHERE Owner.Name = 'Ada Admin'",
    )
    .await;
    assert_eq!(by_admin["totalSize"], seed::ACCOUNT_COUNT);
    assert_eq!(by_admin["records"][0]["Owner"]["Name"], "Ada Admin");
    let created = h
        .sf(
            Method::POST,
            "sobjects/Account",
            Some(json!({ "Name": "Via API" })),
        )
        .await;
    assert_eq!(created.status(), 201);
    let mine = rows(
        &h,
        "SELECT Name FROM Account WHERE Owner.Name = 'Isthmus Integration'",
    )
    .await;
    assert_eq!(names(&mine, "Name"), ["Via API"]);
}

#[tokio::test]
async fn order_is_an_object_after_from_and_a_keyword_only_in_order_by() {
    let h = empty().await;
    let account = h
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Ordering Ltd" })))
        .unwrap();
    for (day, status) in [("2026-03-02", "Draft"), ("2026-03-01", "Activated")] {
        let order = json!({ "AccountId": account, "EffectiveDate": day, "Status": status });
        h.sandbox.sf_insert("Order", fields(order)).unwrap();
    }
    let body = rows(
        &h,
        "SELECT Id, Status, EffectiveDate FROM Order WHERE AccountId != null ORDER BY EffectiveDate",
    )
    .await;
    assert_eq!(names(&body, "Status"), ["Activated", "Draft"], "{body}");
    let body = rows(&h, "SELECT COUNT() FROM order WHERE Status = 'Draft'").await;
    assert_eq!(body["totalSize"], 1, "{body}");
    // `ORDER` anywhere else is still the start of `ORDER BY`.
    let (status, code) = error(&h, "SELECT Id FROM Order ORDER EffectiveDate").await;
    assert_eq!((status, code.as_str()), (400, "MALFORMED_QUERY"));
}

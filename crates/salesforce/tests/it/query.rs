use isthmus_salesforce::soql;
use isthmus_sandbox::SandboxConfig;
use serde_json::{json, Value};

use crate::{fields, org, org_with, QUERY, QUERY_MORE};
use isthmus_sandbox::credentials::SF_CLIENT_SECRET;

#[tokio::test]
async fn query_follows_next_records_url_until_done() {
    let config = SandboxConfig {
        sf_query_page_size: 3,
        ..Default::default()
    };
    let org = org_with(config, "61.0", SF_CLIENT_SECRET).await;
    for n in 0..7 {
        org.sandbox
            .sf_insert("Account", fields(json!({ "Name": format!("Account {n}") })))
            .unwrap();
    }

    let records = org
        .client
        .query("SELECT Id, Name FROM Account ORDER BY Name")
        .await
        .unwrap();

    let names: Vec<&str> = records
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        (0..7).map(|n| format!("Account {n}")).collect::<Vec<_>>()
    );
    assert_eq!(
        records[0]["attributes"]["type"], "Account",
        "attributes are kept"
    );
    let counts = org.sandbox.calls();
    assert_eq!(counts.get(QUERY), 1);
    assert_eq!(counts.get(QUERY_MORE), 2);
}

#[tokio::test]
async fn empty_result_is_an_empty_vec() {
    let org = org().await;
    let records = org.client.query("SELECT Id FROM Account").await.unwrap();
    assert!(records.is_empty());
}

#[tokio::test]
async fn child_subquery_results_stay_nested() {
    let org = org().await;
    let account = org
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Parent" })))
        .unwrap();
    org.sandbox
        .sf_insert(
            "Contact",
            fields(json!({ "LastName": "Child", "AccountId": account })),
        )
        .unwrap();

    let records = org
        .client
        .query("SELECT Id, (SELECT LastName FROM Contacts) FROM Account")
        .await
        .unwrap();

    let contacts = &records[0]["Contacts"];
    assert_eq!(contacts["totalSize"], 1);
    assert_eq!(contacts["records"][0]["LastName"], "Child");
}

#[tokio::test]
async fn literal_carries_quotes_backslashes_and_newlines_intact() {
    let org = org().await;
    let awkward = "O'Brien \\ \"Sons\"\nLtd %_";
    org.sandbox
        .sf_insert("Account", fields(json!({ "Name": awkward })))
        .unwrap();
    org.sandbox
        .sf_insert("Account", fields(json!({ "Name": "O" })))
        .unwrap();

    let soql = format!(
        "SELECT Name FROM Account WHERE Name = {}",
        soql::literal(awkward)
    );
    let records = org.client.query(&soql).await.unwrap();

    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Name"], Value::from(awkward));
}

#[tokio::test]
async fn malformed_soql_is_a_400_malformed_query() {
    let org = org().await;
    let err = org
        .client
        .query("SELEKT Id FROM Account")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some("MALFORMED_QUERY"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn query_stream_fetches_pages_only_as_they_are_consumed() {
    use futures::{StreamExt, TryStreamExt};

    let org = org_with(
        SandboxConfig {
            sf_query_page_size: 2,
            ..SandboxConfig::default()
        },
        "61.0",
        SF_CLIENT_SECRET,
    )
    .await;
    for i in 0..5 {
        org.sandbox
            .sf_insert("Account", fields(json!({ "Name": format!("Lazy {i}") })))
            .unwrap();
    }
    let query = soql::Soql::select(&["Id", "Name"])
        .from("Account")
        .order_by("Name")
        .build()
        .unwrap();

    let stream = org.client.query_stream(&query);
    let first_three: Vec<_> = stream.take(3).try_collect().await.unwrap();
    assert_eq!(first_three.len(), 3);
    assert_eq!(first_three[2]["Name"], "Lazy 2");
    assert_eq!(
        org.sandbox.calls().get(QUERY_MORE),
        1,
        "only the second page was needed"
    );

    let pages: Vec<Vec<_>> = org.client.query_pages(&query).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
}

#[tokio::test]
async fn builder_queries_match_values_with_quotes_exactly() {
    let org = org().await;
    for name in ["O'Brien & Sons", "O", "x' OR Name != '"] {
        org.sandbox
            .sf_insert("Account", fields(json!({ "Name": name })))
            .unwrap();
    }
    let query = soql::Soql::select(&["Name"])
        .from("Account")
        .where_in("Name", ["O'Brien & Sons", "x' OR Name != '"])
        .order_by("Name")
        .build()
        .unwrap();

    let names: Vec<Value> = org
        .client
        .query(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r["Name"].clone())
        .collect();

    assert_eq!(names, [json!("O'Brien & Sons"), json!("x' OR Name != '")]);
}

#[tokio::test]
async fn child_subquery_pages_are_fetched_and_merged() {
    let org = org().await;
    let account = org
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Many Contacts" })))
        .unwrap();
    for i in 0..450 {
        org.sandbox
            .sf_insert(
                "Contact",
                fields(json!({ "LastName": format!("C{i:03}"), "AccountId": account })),
            )
            .unwrap();
    }
    let query = soql::Soql::select(&["Id"])
        .subquery(soql::Soql::select(&["Id"]).from("Contacts"))
        .from("Account")
        .build()
        .unwrap();

    let records = org.client.query(&query).await.unwrap();

    let contacts = &records[0]["Contacts"];
    assert_eq!(contacts["records"].as_array().unwrap().len(), 450);
    assert_eq!(contacts["done"], true);
    assert!(contacts.get("nextRecordsUrl").is_none());
}

use serde_json::json;

use crate::{account, fields};

#[tokio::test]
async fn list_pages_by_limit_and_offset_with_a_filter() {
    let account = account().await;
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        ids.push(
            account
                .sandbox
                .ns_insert("customer", fields(json!({ "companyName": name })))
                .unwrap(),
        );
    }

    let first = account.client.list("customer", None, 2, 0).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.has_more);
    assert_eq!(first.total_results, 3);
    assert!(first.next.is_some());
    let second = account.client.list("customer", None, 2, 2).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(!second.has_more);

    let filtered = account
        .client
        .list("customer", Some(r#"companyName IS "Beta""#), 10, 0)
        .await
        .unwrap();
    assert_eq!(filtered.items.len(), 1);
    assert_eq!(filtered.items[0].id, ids[1]);
}

#[tokio::test]
async fn list_all_follows_next_links_past_one_page() {
    let account = account().await;
    for i in 0..1001 {
        account
            .sandbox
            .ns_insert(
                "customer",
                fields(json!({ "companyName": format!("Co {i}") })),
            )
            .unwrap();
    }

    let all = account.client.list_all("customer", None).await.unwrap();

    assert_eq!(all.len(), 1001);
    let mut ids: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1001, "a record repeated across pages");
    assert_eq!(
        account
            .sandbox
            .calls()
            .get("GET /services/rest/record/v1/customer"),
        2
    );
}

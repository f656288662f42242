//! Documented behaviours that third-party clients (simple-salesforce and others, see
//! `tests/thirdparty/`) rely on: token revocation and the query batch size header.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::harness::{empty, form, urlencode, Harness};

async fn revoke(h: &Harness, method: Method, token: &str) -> reqwest::Response {
    let url = format!("{}/services/oauth2/revoke", h.sf);
    let request = if method == Method::GET {
        h.http.get(format!("{url}?token={}", urlencode(token)))
    } else {
        h.http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("token", token)]))
    };
    request.send().await.unwrap()
}

async fn query_status(h: &Harness, token: &str) -> u16 {
    h.http
        .get(format!("{}/services/data/v61.0/limits", h.sf))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn revoke_ends_a_session_by_post_or_get_and_refuses_an_unknown_token() {
    let h = empty().await;
    for method in [Method::POST, Method::GET] {
        let token = h.sf_token().await;
        assert_eq!(query_status(&h, &token).await, 200);
        let revoked = revoke(&h, method.clone(), &token).await;
        assert_eq!(revoked.status(), 200, "{method}");
        assert_eq!(query_status(&h, &token).await, 401, "{method}");

        let again = revoke(&h, method.clone(), &token).await;
        assert_eq!(again.status(), 400);
        let body: Value = again.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }
}

async fn contacts(h: &Harness, count: usize) {
    for n in 0..count {
        let mut fields = Map::new();
        fields.insert("LastName".into(), json!(format!("Batch {n:03}")));
        h.sandbox.sf_insert("Contact", fields).unwrap();
    }
}

/// The first page of `SELECT Id FROM Contact` with `Sforce-Query-Options` set to `options`.
async fn first_page(h: &Harness, options: Option<&str>) -> Value {
    let url = format!(
        "{}/services/data/v61.0/query?q={}",
        h.sf,
        urlencode("SELECT Id FROM Contact")
    );
    let mut request = h.http.get(url).bearer_auth(h.sf_token().await);
    if let Some(options) = options {
        request = request.header("Sforce-Query-Options", options);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn page_len(page: &Value) -> usize {
    page["records"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn sforce_query_options_batch_size_sets_the_page_size_within_200_to_2000() {
    let h = empty().await;
    contacts(&h, 2100).await;

    let first = first_page(&h, Some("batchSize=200")).await;
    assert_eq!(
        (first["totalSize"].as_u64(), page_len(&first)),
        (Some(2100), 200)
    );
    let next = first["nextRecordsUrl"].as_str().unwrap();
    let second: Value = h.sf(Method::GET, next, None).await.json().await.unwrap();
    assert_eq!(page_len(&second), 200, "later pages keep the batch size");

    assert_eq!(page_len(&first_page(&h, Some("batchSize=10")).await), 200);
    assert_eq!(
        page_len(&first_page(&h, Some("batchSize=5000")).await),
        2000
    );
    assert_eq!(page_len(&first_page(&h, Some("batchSize=500")).await), 500);
    assert_eq!(page_len(&first_page(&h, None).await), 2000, "the default");
}

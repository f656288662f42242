use isthmus_salesforce::{CompositeSubrequest, SalesforceError};
use serde_json::json;

use crate::org;

#[tokio::test]
async fn later_subrequests_use_earlier_results_in_one_call() {
    let org = org().await;
    org.sandbox.reset_calls();

    let responses = org
        .client
        .composite(
            vec![
                CompositeSubrequest::new("POST", "sobjects/Account", "newAccount")
                    .with_body(json!({ "Name": "Composite Co" })),
                CompositeSubrequest::new("POST", "sobjects/Contact", "newContact")
                    .with_body(json!({ "LastName": "Lovelace", "AccountId": "@{newAccount.id}" })),
            ],
            true,
        )
        .await
        .unwrap();

    assert_eq!(responses.len(), 2);
    assert!(responses.iter().all(|r| r.is_success()), "{responses:?}");
    assert_eq!(responses[0].reference_id, "newAccount");
    let account_id = responses[0].body["id"].as_str().unwrap();
    let contact_id = responses[1].body["id"].as_str().unwrap();
    let contact = org.sandbox.sf_record("Contact", contact_id).unwrap();
    assert_eq!(contact["AccountId"], account_id);
    let calls = org.sandbox.calls();
    assert_eq!(
        calls.get("POST /services/data/vXX.X/composite"),
        1,
        "{calls:?}"
    );
    assert_eq!(calls.salesforce_writes(), 1, "{calls:?}");
}

#[tokio::test]
async fn more_than_25_subrequests_are_refused_before_sending() {
    let org = org().await;
    org.sandbox.reset_calls();
    let requests = (0..26)
        .map(|i| CompositeSubrequest::new("GET", "limits", format!("r{i}")))
        .collect();

    let err = org.client.composite(requests, false).await.unwrap_err();

    assert!(matches!(err, SalesforceError::InvalidRequest(_)), "{err:?}");
    assert_eq!(org.sandbox.calls().salesforce_total(), 0);
}

#[tokio::test]
async fn queries_and_collections_past_five_are_split_into_calls_salesforce_takes() {
    let org = org().await;
    let collection = |i: usize| {
        CompositeSubrequest::new("POST", "composite/sobjects", format!("c{i}")).with_body(json!({
            "allOrNone": true,
            "records": [{ "attributes": { "type": "Account" }, "Name": format!("Split {i}") }],
        }))
    };
    let query = |i: usize| {
        CompositeSubrequest::new(
            "GET",
            "query?q=SELECT+Id+FROM+Account+LIMIT+1",
            format!("q{i}"),
        )
    };
    let requests: Vec<_> = (0..4).map(collection).chain((0..4).map(query)).collect();

    // Sent as one call, the client refuses before sending, as Salesforce would refuse it.
    org.sandbox.reset_calls();
    let err = org
        .client
        .composite(requests.clone(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, SalesforceError::InvalidRequest(_)), "{err:?}");
    assert_eq!(org.sandbox.calls().salesforce_total(), 0);

    // Split, every subrequest runs once.
    let batches = isthmus_salesforce::composite_batches(requests);
    assert_eq!(batches.len(), 2);
    let mut answers = Vec::new();
    for batch in batches {
        answers.extend(org.client.composite(batch, false).await.unwrap());
    }
    assert_eq!(answers.len(), 8);
    assert!(answers.iter().all(|a| a.is_success()), "{answers:?}");
    let split = org
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| a["Name"].as_str().unwrap_or_default().starts_with("Split"))
        .count();
    assert_eq!(split, 4);
    assert_eq!(
        org.sandbox
            .calls()
            .get("POST /services/data/vXX.X/composite"),
        2
    );
}

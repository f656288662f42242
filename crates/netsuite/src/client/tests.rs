use std::time::Duration;

use super::*;

fn config() -> NetSuiteConfig {
    NetSuiteConfig {
        account_id: "123456_SB1".into(),
        base_url: None,
        consumer_key: "ck".into(),
        consumer_secret: "consumer-secret-value".into(),
        token_id: "tk".into(),
        token_secret: "token-secret-value".into(),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn urls_encode_every_segment() {
    let client = NetSuiteClient::new(config()).unwrap();
    let url = client
        .url(
            &["record", "v1", "customer", "12/../x?y"],
            &[("replace", "addressBook,contacts")],
        )
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer/\
         12%2F..%2Fx%3Fy?replace=addressBook%2Ccontacts"
    );
}

#[test]
fn config_errors_are_caught_at_construction() {
    let mut bad = config();
    bad.account_id = "123 456".into();
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
    let mut bad = config();
    bad.token_secret = "".into();
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
    let mut bad = config();
    bad.base_url = Some("not a url".into());
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
}

#[test]
fn client_debug_shows_no_secrets() {
    let shown = format!("{:?}", NetSuiteClient::new(config()).unwrap());
    assert!(!shown.contains("secret-value"), "{shown}");
    assert!(shown.contains("123456_SB1"));
}

#[test]
fn client_and_its_futures_can_cross_threads() {
    fn send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = NetSuiteClient::new(config()).unwrap();
    send_sync_clone(&client);
    send(&client.suiteql("SELECT id FROM customer"));
    send(&client.upsert("customer", "X", &Map::new(), &[]));
}

use std::time::Duration;

use super::*;

fn config() -> SalesforceConfig {
    SalesforceConfig {
        login_url: "https://login.salesforce.com/".into(),
        api_version: "61.0".into(),
        auth: SalesforceAuth::ClientCredentials {
            client_id: "3MVG9-client-id".into(),
            client_secret: "client-secret-value".into(),
        },
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn debug_of_config_and_client_hides_the_secret() {
    let config = config();
    let shown = format!("{config:?}");
    assert!(!shown.contains("client-secret-value"), "{shown}");
    assert!(shown.contains("REDACTED"));

    let client = SalesforceClient::new(config).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("client-secret-value"), "{shown}");
    assert!(shown.contains("/services/data/v61.0/"), "{shown}");
}

#[test]
fn config_errors_are_caught_at_construction() {
    for mutate in [
        (|c: &mut SalesforceConfig| c.login_url = "login.salesforce.com".into()) as fn(&mut _),
        |c| c.login_url = "ftp://login.salesforce.com".into(),
        |c| c.api_version = "latest".into(),
        |c| c.api_version = "61".into(),
        |c| {
            c.auth = SalesforceAuth::ClientCredentials {
                client_id: "id".into(),
                client_secret: "".into(),
            }
        },
        |c| {
            c.auth = SalesforceAuth::JwtBearer {
                client_id: "id".into(),
                username: "user@example.com".into(),
                private_key_pem: "not a key".into(),
                audience: None,
            }
        },
    ] {
        let mut config = config();
        mutate(&mut config);
        let shown = format!("{config:?}");
        assert!(
            matches!(
                SalesforceClient::new(config),
                Err(SalesforceError::Config(_))
            ),
            "{shown}"
        );
    }
}

#[test]
fn api_version_may_carry_a_leading_v() {
    let mut config = config();
    config.api_version = "v62.0".into();
    let client = SalesforceClient::new(config).unwrap();
    assert_eq!(client.inner.data_path, "/services/data/v62.0/");
}

#[test]
fn path_segments_are_percent_encoded() {
    assert_eq!(segment("ACME/42 ?#%").to_string(), "ACME%2F42%20%3F%23%25");
    assert_eq!(segment("Ext_Id__c").to_string(), "Ext_Id__c");
}

#[test]
fn no_usage_is_known_before_the_first_response() {
    assert_eq!(SalesforceClient::new(config()).unwrap().api_usage(), None);
}

#[test]
fn client_and_its_futures_can_cross_threads() {
    fn send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = SalesforceClient::new(config()).unwrap();
    send_sync_clone(&client);
    send(&client.query("SELECT Id FROM Account"));
    send(&client.upsert("Account", "Ext__c", "1", &Map::new()));
    send(&client.query_stream("SELECT Id FROM Account"));
    send(&client.create_many("Account", &[], false));
    send(&client.composite(Vec::new(), true));
}

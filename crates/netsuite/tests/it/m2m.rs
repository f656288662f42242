use isthmus_netsuite::{GetOptions, JwtAlgorithm, NetSuiteAuth, NetSuiteError};
use isthmus_sandbox::credentials::{
    NS_M2M_CLIENT_ID, NS_M2M_EC_CERTIFICATE_ID, NS_M2M_EC_PRIVATE_KEY_PEM,
    NS_M2M_RSA_CERTIFICATE_ID, NS_M2M_RSA_PRIVATE_KEY_PEM,
};
use isthmus_sandbox::SandboxConfig;
use serde_json::json;

use crate::{account_with, fields};

fn oauth2(certificate_id: &str, pem: &str, algorithm: JwtAlgorithm) -> NetSuiteAuth {
    NetSuiteAuth::OAuth2 {
        client_id: NS_M2M_CLIENT_ID.to_owned(),
        certificate_id: certificate_id.to_owned(),
        private_key_pem: pem.to_owned().into(),
        algorithm,
        scopes: NetSuiteAuth::default_scopes(),
    }
}

const TOKEN: &str = "POST /services/rest/auth/oauth2/v1/token";

#[tokio::test]
async fn es256_client_credentials_token_authorises_record_calls_and_is_reused() {
    let account = account_with(SandboxConfig::default(), |config| {
        config.auth = oauth2(
            NS_M2M_EC_CERTIFICATE_ID,
            NS_M2M_EC_PRIVATE_KEY_PEM,
            JwtAlgorithm::ES256,
        );
    })
    .await;

    let id = account
        .client
        .create("customer", &fields(json!({ "companyName": "M2M Ltd" })))
        .await
        .unwrap();
    let record = account
        .client
        .get("customer", &id, &GetOptions::default())
        .await
        .unwrap();

    assert_eq!(record["companyName"], "M2M Ltd");
    assert_eq!(
        account.sandbox.calls().get(TOKEN),
        1,
        "{:?}",
        account.sandbox.calls()
    );
}

#[tokio::test]
async fn ps256_client_credentials_token_authorises_suiteql() {
    let account = account_with(SandboxConfig::default(), |config| {
        config.auth = oauth2(
            NS_M2M_RSA_CERTIFICATE_ID,
            NS_M2M_RSA_PRIVATE_KEY_PEM,
            JwtAlgorithm::PS256,
        );
    })
    .await;

    let rows = account
        .client
        .suiteql("SELECT id FROM customer")
        .await
        .unwrap();

    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn a_key_for_another_certificate_is_refused_as_an_auth_error() {
    let account = account_with(SandboxConfig::default(), |config| {
        // The EC key presented under the RSA certificate's id.
        config.auth = oauth2(
            NS_M2M_RSA_CERTIFICATE_ID,
            NS_M2M_EC_PRIVATE_KEY_PEM,
            JwtAlgorithm::ES256,
        );
    })
    .await;

    let err = account
        .client
        .suiteql("SELECT id FROM customer")
        .await
        .unwrap_err();

    assert!(matches!(err, NetSuiteError::Auth { .. }), "{err:?}");
    assert_eq!(err.class(), isthmus_netsuite::ErrorClass::Auth);
}

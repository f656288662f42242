//! The OAuth 2.0 JWT bearer grant, signed with the fixed test key under `crates/sandbox/keys/`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use isthmus_sandbox::credentials;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use crate::harness::{empty, form, Harness};

const PRIVATE_KEY_PEM: &str = include_str!("../../keys/sf-jwt-private.pem");
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn sign(claims: &Value) -> String {
    let der = STANDARD
        .decode(
            PRIVATE_KEY_PEM
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let key = RsaKeyPair::from_pkcs8(&der).unwrap();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims(aud: &str) -> Value {
    json!({
        "iss": credentials::SF_CLIENT_ID,
        "sub": credentials::SF_USERNAME,
        "aud": aud,
        "exp": chrono::Utc::now().timestamp() + 180,
    })
}

async fn grant(h: &Harness, assertion: &str) -> (u16, Value) {
    let response = h
        .http
        .post(format!("{}/services/oauth2/token", h.sf))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", assertion),
        ]))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_assertion_yields_a_session_that_works() {
    let h = empty().await;
    let (status, body) = grant(&h, &sign(&claims("https://login.salesforce.com"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], h.sf);
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let response = h
        .http
        .get(format!("{}/services/data/v61.0/limits", h.sf))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn test_login_and_own_url_audiences_and_string_expiry_are_accepted() {
    let h = empty().await;
    let mut string_exp = claims("https://test.salesforce.com");
    string_exp["exp"] = json!((chrono::Utc::now().timestamp() + 60).to_string());
    let own = claims(&h.sf);
    let mut listed = claims("unused");
    listed["aud"] = json!(["https://login.salesforce.com"]);
    for claims in [string_exp, own, listed] {
        let (status, body) = grant(&h, &sign(&claims)).await;
        assert_eq!(status, 200, "{claims} → {body}");
    }
}

#[tokio::test]
async fn bad_assertions_are_refused_with_the_documented_errors() {
    let h = empty().await;
    let now = chrono::Utc::now().timestamp();
    let valid = sign(&claims("https://login.salesforce.com"));
    let (header, rest) = valid.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_claims = URL_SAFE_NO_PAD.encode(
        json!({"iss": credentials::SF_CLIENT_ID, "sub": credentials::SF_USERNAME,
               "aud": "https://login.salesforce.com", "exp": now + 9999})
        .to_string(),
    );
    let forged = format!("{header}.{forged_claims}.{signature}");

    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims("https://login.salesforce.com");
        change(&mut c);
        sign(&c)
    };
    let cases = [
        (forged, "invalid_grant", "invalid assertion"),
        ("garbage".to_owned(), "invalid_grant", "invalid assertion"),
        (
            with(&|c| c["aud"] = json!("https://evil.example")),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            with(&|c| c["exp"] = json!(now - 10)),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            with(&|c| c["iss"] = json!("someone-else")),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            with(&|c| c["sub"] = json!("nobody@isthmus.example")),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
    ];
    for (assertion, error, description) in cases {
        let (status, body) = grant(&h, &assertion).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"error": error, "error_description": description})
        );
    }
}

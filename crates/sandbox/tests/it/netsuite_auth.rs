//! NetSuite authentication beyond plain TBA: `oauth_body_hash`, and OAuth 2.0 client credentials
//! (M2M) with JWT assertions signed by the registered test keys.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use isthmus_sandbox::credentials as c;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use serde_json::{json, Value};
use sha2::Digest;

use crate::harness::{empty, form, Harness};
use crate::netsuite_support::restlet_path;
use crate::signer::{base_string, hmac_b64, pct};

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// A compact JWS signed with one of the shipped keys.
fn jwt(alg: &str, kid: &str, claims: &Value) -> String {
    let header = json!({ "typ": "JWT", "alg": alg, "kid": kid });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let rng = SystemRandom::new();
    let signature = if alg.starts_with("ES") {
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der(c::NS_M2M_EC_PRIVATE_KEY_PEM),
            &rng,
        )
        .unwrap();
        pair.sign(&rng, signing_input.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    } else {
        let pair = RsaKeyPair::from_pkcs8(&der(c::NS_M2M_RSA_PRIVATE_KEY_PEM)).unwrap();
        let padding: &dyn signature::RsaEncoding = match alg {
            "PS256" => &signature::RSA_PSS_SHA256,
            "PS512" => &signature::RSA_PSS_SHA512,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        let mut out = vec![0; pair.public().modulus_len()];
        pair.sign(padding, &rng, signing_input.as_bytes(), &mut out)
            .unwrap();
        out
    };
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims(h: &Harness, scope: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": c::NS_M2M_CLIENT_ID,
        "scope": scope,
        "aud": format!("{}/services/rest/auth/oauth2/v1/token", h.ns),
        "iat": now,
        "exp": now + 3600,
    })
}

async fn token_request(h: &Harness, assertion: &str) -> reqwest::Response {
    h.http
        .post(format!("{}/services/rest/auth/oauth2/v1/token", h.ns))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ]))
        .send()
        .await
        .unwrap()
}

async fn oauth_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn es256_and_ps256_assertions_get_bearer_tokens_that_open_the_rest_api() {
    let h = empty().await;
    for (alg, kid) in [
        ("ES256", c::NS_M2M_EC_CERTIFICATE_ID),
        ("PS256", c::NS_M2M_RSA_CERTIFICATE_ID),
        ("PS512", c::NS_M2M_RSA_CERTIFICATE_ID),
        ("RS256", c::NS_M2M_RSA_CERTIFICATE_ID),
    ] {
        let assertion = jwt(
            alg,
            kid,
            &claims(&h, json!(["rest_webservices", "restlets"])),
        );
        let response = token_request(&h, &assertion).await;
        assert_eq!(response.status(), 200, "{alg}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], "3600");
        assert_eq!(body["token_type"], "bearer");
        assert!(body.get("refresh_token").is_none());
        let token = body["access_token"].as_str().unwrap();
        let records = h
            .http
            .get(format!("{}/services/rest/record/v1/customer", h.ns))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(records.status(), 200, "{alg}");
    }
}

#[tokio::test]
async fn a_token_only_opens_what_its_scope_covers() {
    let h = empty().await;
    let assertion = jwt(
        "ES256",
        c::NS_M2M_EC_CERTIFICATE_ID,
        &claims(&h, json!("restlets")),
    );
    let body: Value = token_request(&h, &assertion).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let rest = h
        .http
        .get(format!("{}/services/rest/record/v1/customer", h.ns))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 401);
    let restlet = h
        .http
        .get(format!(
            "{}/{}",
            h.ns,
            restlet_path("customscript_isthmus_summary", "1", "customerId=1")
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_ne!(restlet.status(), 401);
    let unknown = h
        .http
        .get(format!("{}/services/rest/record/v1/customer", h.ns))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn bad_assertions_get_oauth_errors() {
    let h = empty().await;
    let good = claims(&h, json!("rest_webservices"));
    let mut long_lived = good.clone();
    long_lived["exp"] = json!(good["iat"].as_i64().unwrap() + 3601);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("https://1234567.suitetalk.api.netsuite.com/elsewhere");
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("someone-else");
    let bad_scope = claims(&h, json!("everything"));
    let ec = c::NS_M2M_EC_CERTIFICATE_ID;
    let cases = [
        (jwt("ES256", "unknown-cert", &good), (401, "invalid_client")),
        (jwt("ES256", ec, &wrong_issuer), (401, "invalid_client")),
        (jwt("ES256", ec, &long_lived), (400, "invalid_grant")),
        (jwt("ES256", ec, &wrong_audience), (400, "invalid_grant")),
        (jwt("ES256", ec, &bad_scope), (400, "invalid_scope")),
        // Signed with the RSA key but naming the EC certificate.
        (jwt("PS256", ec, &good), (400, "invalid_grant")),
        ("not.a.jwt".to_owned(), (400, "invalid_request")),
    ];
    for (assertion, expected) in cases {
        let got = oauth_error(token_request(&h, &assertion).await).await;
        assert_eq!((got.0, got.1.as_str()), expected, "{assertion}");
    }
    let wrong_grant = h
        .http
        .post(format!("{}/services/rest/auth/oauth2/v1/token", h.ns))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "password")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(wrong_grant).await,
        (400, "unsupported_grant_type".to_owned())
    );
}

/// A TBA header that also signs `oauth_body_hash`.
fn authorization_with_body_hash(method: &str, url: &str, body_hash: &str) -> String {
    let oauth = vec![
        ("oauth_consumer_key", c::NS_CONSUMER_KEY.to_owned()),
        ("oauth_token", c::NS_TOKEN_ID.to_owned()),
        ("oauth_signature_method", "HMAC-SHA256".to_owned()),
        (
            "oauth_timestamp",
            chrono::Utc::now().timestamp().to_string(),
        ),
        ("oauth_nonce", uuid::Uuid::new_v4().simple().to_string()),
        ("oauth_version", "1.0".to_owned()),
        ("oauth_body_hash", body_hash.to_owned()),
    ];
    let key = format!("{}&{}", pct(c::NS_CONSUMER_SECRET), pct(c::NS_TOKEN_SECRET));
    let signature = hmac_b64("HMAC-SHA256", &key, &base_string(method, url, &oauth));
    let mut parts = vec![format!("realm=\"{}\"", c::NS_ACCOUNT_ID)];
    parts.extend(oauth.iter().map(|(k, v)| format!("{k}=\"{}\"", pct(v))));
    parts.push(format!("oauth_signature=\"{}\"", pct(&signature)));
    format!("OAuth {}", parts.join(", "))
}

#[tokio::test]
async fn a_body_hash_is_signed_over_and_must_match_the_body() {
    let h = empty().await;
    let url = format!("{}/services/rest/record/v1/customer", h.ns);
    let body = json!({ "companyName": "Hashed Ltd" }).to_string();
    let hash = STANDARD.encode(sha2::Sha256::digest(body.as_bytes()));
    let send = |body: String, hash: String| {
        h.http
            .post(&url)
            .header(
                "authorization",
                authorization_with_body_hash("POST", &url, &hash),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        send(body.clone(), hash.clone()).await.unwrap().status(),
        204
    );
    let tampered = json!({ "companyName": "Tampered Ltd" }).to_string();
    assert_eq!(send(tampered, hash).await.unwrap().status(), 401);
    assert_eq!(h.sandbox.ns_records("customer").len(), 1);
}

#[tokio::test]
async fn a_body_hash_may_be_the_sha1_digest_authlib_clients_send() {
    // Authlib (under the `netsuite` Python package) hashes the body with SHA-1 even when it signs
    // with HMAC-SHA256.
    let h = empty().await;
    let url = format!("{}/services/rest/record/v1/customer", h.ns);
    let body = json!({ "companyName": "Sha One Ltd" }).to_string();
    let sha1 = STANDARD.encode(sha1::Sha1::digest(body.as_bytes()));
    let send = |body: String| {
        h.http
            .post(&url)
            .header(
                "authorization",
                authorization_with_body_hash("POST", &url, &sha1),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(send(body).await.unwrap().status(), 204);
    let tampered = json!({ "companyName": "Sha Two Ltd" }).to_string();
    assert_eq!(send(tampered).await.unwrap().status(), 401);
    assert_eq!(h.sandbox.ns_records("customer").len(), 1);
}

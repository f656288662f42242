//! OAuth 2.0 client credentials (machine to machine): `POST /services/rest/auth/oauth2/v1/token`
//! with `grant_type=client_credentials`, `client_assertion_type=…:jwt-bearer` and a JWT
//! `client_assertion` signed with a registered certificate's private key (see [`super::jwt`]).
//!
//! The assertion must name the integration's client id as `iss`, the token URL as `aud` (as the
//! client reached it, `http` or `https`; a string or an array), `iat` not in the future, `exp` in
//! the future and at most 3600 s after `iat`, and a non-empty `scope` of `rest_webservices`,
//! `restlets` and/or `suite_analytics` (an array, or one string separated by commas or spaces).
//! The answer is `{"access_token","expires_in":"3600","token_type":"bearer"}`, no refresh token;
//! the access token then works as `Authorization: Bearer` on calls its scope covers.
//!
//! Errors follow RFC 6749 §5.2 (`invalid_request`, `unsupported_grant_type`, `invalid_client`,
//! `invalid_grant`, `invalid_scope`; 400, and 401 for `invalid_client`); that NetSuite uses exactly
//! these statuses is *unconfirmed*.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::jwt::{self, JwtError, PublicKey};
use crate::control::base_url;
use crate::credentials::{
    NS_M2M_CLIENT_ID, NS_M2M_EC_CERTIFICATE_ID, NS_M2M_EC_PRIVATE_KEY_PEM,
    NS_M2M_RSA_CERTIFICATE_ID, NS_M2M_RSA_PRIVATE_KEY_PEM,
};
use crate::Sandbox;

pub const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_LIFETIME_SECONDS: i64 = 3600;
const SCOPES: [&str; 3] = ["rest_webservices", "restlets", "suite_analytics"];

/// An API surface a bearer token's scope must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    RestWebServices,
    Restlets,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::RestWebServices => "rest_webservices",
            Scope::Restlets => "restlets",
        }
    }
}

struct Issued {
    expires_at: i64,
    scopes: Vec<String>,
}

/// Registered certificates and issued access tokens.
pub struct ClientCredentials {
    keys: HashMap<String, PublicKey>,
    tokens: Mutex<HashMap<String, Issued>>,
}

impl ClientCredentials {
    /// The integration with the two fixed test certificates registered.
    pub fn new() -> Option<Self> {
        let keys = HashMap::from([
            (
                NS_M2M_EC_CERTIFICATE_ID.to_owned(),
                PublicKey::from_private_pem(NS_M2M_EC_PRIVATE_KEY_PEM)?,
            ),
            (
                NS_M2M_RSA_CERTIFICATE_ID.to_owned(),
                PublicKey::from_private_pem(NS_M2M_RSA_PRIVATE_KEY_PEM)?,
            ),
        ]);
        Some(Self {
            keys,
            tokens: Mutex::default(),
        })
    }

    /// Does `token` grant `scope` at `now`?
    pub fn authorizes(&self, token: &str, scope: Scope, now: i64) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, issued| issued.expires_at > now);
        tokens
            .get(token)
            .is_some_and(|issued| issued.scopes.iter().any(|s| s == scope.name()))
    }

    fn issue(&self, scopes: Vec<String>, now: i64) -> String {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                token.clone(),
                Issued {
                    expires_at: now + TOKEN_LIFETIME_SECONDS,
                    scopes,
                },
            );
        token
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            "unsupported_grant_type",
            "grant_type must be client_credentials.",
        );
    }
    if field("client_assertion_type") != JWT_BEARER || field("client_assertion").is_empty() {
        return oauth_error(
            "invalid_request",
            "client_assertion_type must be jwt-bearer and client_assertion a JWT.",
        );
    }
    let audience = format!("{}{TOKEN_PATH}", base_url(&headers));
    let now = chrono::Utc::now().timestamp();
    let credentials = &sandbox.inner.account.client_credentials;
    match check(credentials, field("client_assertion"), &audience, now) {
        Ok(scopes) => Json(json!({
            "access_token": credentials.issue(scopes, now),
            "expires_in": TOKEN_LIFETIME_SECONDS.to_string(),
            "token_type": "bearer",
        }))
        .into_response(),
        Err((error, description)) => oauth_error(error, description),
    }
}

type Refusal = (&'static str, &'static str);

/// Verifies the assertion; returns the granted scopes.
fn check(
    credentials: &ClientCredentials,
    assertion: &str,
    audience: &str,
    now: i64,
) -> Result<Vec<String>, Refusal> {
    let verified = jwt::verify(assertion, &credentials.keys).map_err(|e| match e {
        JwtError::Malformed => (
            "invalid_request",
            "The client assertion is not a valid JWT.",
        ),
        JwtError::UnknownKey => (
            "invalid_client",
            "The certificate (kid) is not mapped to the integration.",
        ),
        JwtError::UnsupportedAlgorithm => (
            "invalid_grant",
            "The signing algorithm is not supported for this certificate.",
        ),
        JwtError::BadSignature => ("invalid_grant", "The JWT signature is invalid."),
    })?;
    let claims = &verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(NS_M2M_CLIENT_ID) {
        return Err(("invalid_client", "The issuer is not a known client id."));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return Err((
            "invalid_grant",
            "The audience must be the token endpoint URL.",
        ));
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let (Some(iat), Some(exp)) = (number("iat"), number("exp")) else {
        return Err(("invalid_grant", "iat and exp are required."));
    };
    const SKEW: i64 = 60;
    if iat > now + SKEW || exp <= now || exp <= iat || exp - iat > TOKEN_LIFETIME_SECONDS {
        return Err((
            "invalid_grant",
            "The token is expired, not yet valid, or valid for more than 60 minutes.",
        ));
    }
    let scopes: Vec<String> = match claims.get("scope") {
        Some(Value::String(s)) => s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err((
            "invalid_scope",
            "scope must be rest_webservices, restlets and/or suite_analytics.",
        ));
    }
    Ok(scopes)
}

//! Salesforce OAuth 2.0: the token endpoint (client credentials, username-password and JWT bearer
//! flows, client credentials in the form or as HTTP Basic auth), token revocation, and the session
//! check every REST call passes, which also spends the daily API allocation and reports it in
//! `Sforce-Limit-Info`.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;
use sha2::Sha256;

use super::error::ApiError;
use super::{allocation, jwt};
use crate::control::base_url;
use crate::credentials::{SF_CLIENT_ID, SF_CLIENT_SECRET, SF_PASSWORD, SF_USERNAME};
use crate::Sandbox;

/// `POST /services/oauth2/token`.
pub async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (client_id, client_secret) = match basic_credentials(&headers) {
        Some(pair) => (Some(pair.0), Some(pair.1)),
        None => (param("client_id"), param("client_secret")),
    };
    let grant_type = param("grant_type").unwrap_or_default();
    if grant_type == JWT_BEARER {
        let assertion = param("assertion").unwrap_or_default();
        let org = &sandbox.inner.org;
        let is_user = |name: &str| org.db().user_id_by_username(name).is_some();
        let now = chrono::Utc::now().timestamp();
        if let Err(refusal) = jwt::verify(&assertion, &base_url(&headers), now, is_user) {
            return oauth_error(refusal.error, refusal.description);
        }
        return issue_token(&sandbox, &headers, false);
    }
    if grant_type != "client_credentials" && grant_type != "password" {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    if client_id.as_deref() != Some(SF_CLIENT_ID) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    if client_secret.as_deref() != Some(SF_CLIENT_SECRET) {
        return oauth_error("invalid_client", "invalid client credentials");
    }
    if grant_type == "password"
        && (param("username").as_deref() != Some(SF_USERNAME)
            || param("password").as_deref() != Some(SF_PASSWORD))
    {
        return oauth_error("invalid_grant", "authentication failure");
    }
    issue_token(&sandbox, &headers, true)
}

/// `POST /services/oauth2/revoke` (form `token=`) or `GET …/revoke?token=`: ends the session.
/// 200 with an empty body; 400 `invalid_token` for a token that is not a live session.
pub async fn revoke(State(sandbox): State<Sandbox>, uri: Uri, body: Bytes) -> Response {
    let token = [uri.query().unwrap_or("").as_bytes(), &body[..]]
        .into_iter()
        .flat_map(url::form_urlencoded::parse)
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.into_owned());
    let revoked = token.is_some_and(|token| sandbox.inner.org.tokens().remove(token.trim()));
    if revoked {
        StatusCode::OK.into_response()
    } else {
        oauth_error("invalid_token", "invalid token")
    }
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A new session. The JWT bearer flow answers without `signature` (there is no client secret).
fn issue_token(sandbox: &Sandbox, headers: &HeaderMap, signed: bool) -> Response {
    let org = &sandbox.inner.org;
    let access_token = format!(
        "{}!{}",
        &org.org_id[..15],
        Alphanumeric.sample_string(&mut rand::rng(), 96)
    );
    org.tokens().insert(access_token.clone());
    let instance_url = base_url(headers);
    let id = format!(
        "{instance_url}/id/{}/{}",
        org.org_id, org.integration_user_id
    );
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let mut body = json!({
        "access_token": access_token,
        "instance_url": instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "scope": "api",
    });
    if signed {
        body["signature"] = json!(sign(&format!("{id}{issued_at}")));
    }
    Json(body).into_response()
}

/// `base64(HMAC-SHA256(client_secret, id + issued_at))`, as Salesforce signs its token responses.
fn sign(message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SF_CLIENT_SECRET.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Requires a live session (`Authorization: Bearer <token>`, or the older `OAuth <token>`), counts
/// the call against the daily allocation and reports usage in `Sforce-Limit-Info`.
pub async fn require_session(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let org = &sandbox.inner.org;
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim);
    let valid = token.is_some_and(|t| org.tokens().contains(t));
    if !valid {
        return ApiError::invalid_session().into_response();
    }
    let (mut response, (used, max)) = match org.allocation.spend() {
        Ok(usage) => (next.run(request).await, usage),
        Err(usage) => (allocation::limit_exceeded().into_response(), usage),
    };
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    response
}

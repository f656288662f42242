//! Authentication of every REST, SuiteQL and RESTlet call: either a TBA signature
//! (`Authorization: OAuth …`, see [`super::tba`]) or an OAuth 2.0 access token from the
//! client-credentials flow (`Authorization: Bearer …`, see [`super::m2m`]) whose scope covers the
//! call (`restlets` for RESTlets, `rest_webservices` for the rest). Any failure is 401
//! `INVALID_LOGIN`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::m2m::Scope;
use super::restlets::RESTLET_PATH;
use super::tba;
use crate::{control, Sandbox};

/// NetSuite's documented maximum request size.
const MAX_BODY_BYTES: usize = 104 * 1024 * 1024;

pub async fn authenticate(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    if let Some(token) = bearer(&authorization) {
        let scope = if request.uri().path() == RESTLET_PATH {
            Scope::Restlets
        } else {
            Scope::RestWebServices
        };
        let account = &sandbox.inner.account;
        return if account.client_credentials.authorizes(token, scope, now) {
            next.run(request).await
        } else {
            ApiError::invalid_login().into_response()
        };
    }
    // The body is read only when the signature covers it.
    let (request, body) = if authorization.contains("oauth_body_hash") {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return ApiError::invalid_login().into_response();
        };
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            Some(bytes),
        )
    } else {
        (request, None)
    };
    let headers = request.headers();
    let signed = tba::SignedRequest {
        method: request.method().as_str(),
        scheme: control::scheme(headers),
        host: headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
        path: request.uri().path(),
        query: request.uri().query(),
        authorization: Some(&authorization),
        body: body.as_deref(),
    };
    let account = &sandbox.inner.account;
    match account.verifier.verify(&account.account_id, &signed, now) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("Bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

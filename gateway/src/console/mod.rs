//! The operations console at `/console`: server-rendered pages over the gateway's own
//! handlers and the services' gRPC, for the people who run Isthmus.
//!
//! Invariant: the console never touches the store or a vendor itself. Every fact it shows and
//! every action it takes goes through a gateway route handler (`crate::routes`) or a service's
//! gRPC API, so it sees and does exactly what the REST API would, with the same checks.
//!
//! Access ([`session`]): an API key with the `admin` or `viewer` scope signs in once and gets a
//! session cookie; every POST needs the session's CSRF token, and a viewer's POST is refused
//! with 403 before anything is called (their pages show no action either). Pages are plain
//! HTML forms that work without JavaScript; one small script refreshes `[data-live]` parts.

mod conflicts;
mod dead_letters;
mod erasures;
mod form;
mod mappings;
mod overview;
mod reconcile;
mod records;
mod runs;
pub mod session;
mod view;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use crate::{ApiError, Gateway};
pub use form::Form;
pub use mappings::MappingTable;
use session::{Session, SessionKey};

/// What the console needs beyond the gateway.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Signs session cookies and CSRF tokens.
    pub key: SessionKey,
    pub session_ttl: Duration,
    /// Always mark the cookie `Secure` (it is anyway for requests that came over https).
    pub secure_cookie: bool,
    /// The effective field mappings, value maps and owners (the Mappings page).
    pub mappings: Vec<MappingTable>,
    /// Each schedule's name and cron expression (`""` when off), for its next firing.
    pub schedules: Vec<(String, String)>,
    /// Served on a listener of its own ([`Gateway::console_router`](crate::Gateway::console_router)),
    /// not on the API's.
    pub own_listener: bool,
}

/// The console's routes, all under `/console`.
pub fn router() -> Router<Gateway> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/login", get(sign_in_form).post(sign_in))
        .route("/console/logout", post(sign_out))
        .route("/console/records", get(records::page))
        .route("/console/records/sync", post(records::sync))
        .route("/console/dead-letters", get(dead_letters::list))
        .route(
            "/console/dead-letters/{service}/{id}",
            get(dead_letters::inspect),
        )
        .route("/console/dead-letters/replay", post(dead_letters::replay))
        .route("/console/dead-letters/discard", post(dead_letters::discard))
        .route("/console/conflicts", get(conflicts::list))
        .route("/console/conflicts/{id}/resolve", post(conflicts::resolve))
        .route("/console/reconcile", get(reconcile::page))
        .route("/console/reconcile/run", post(reconcile::run))
        .route("/console/reconcile/repair", post(reconcile::repair))
        .route("/console/runs", get(runs::page))
        .route("/console/runs/start", post(runs::start))
        .route("/console/mappings", get(mappings::page))
        .route(
            "/console/erasures",
            get(erasures::page).post(erasures::erase),
        )
}

fn html_page(markup: Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The pages embed nothing from elsewhere and are never framed.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// An error page with the error's status: what went wrong, for a person.
fn error_page(session: &Session, error: &ApiError) -> Response {
    let status = error.code.http_status();
    let body = html! {
        h1 { "Not done" }
        div.error role="alert" { (error.message) " " span.mute { "(" (error.code.as_str()) ")" } }
        p { a href="javascript:history.back()" { "Back" } }
    };
    let mut response = html_page(view::page("Error", "", session, body));
    *response.status_mut() = status;
    response
}

/// The refusal of a forged or viewer POST: 403, nothing called.
fn forbidden(session: &Session, why: &str) -> Response {
    error_page(
        session,
        &ApiError::new(isthmus_proto::ErrorCode::PermissionDenied, why),
    )
}

/// A POST's form after the checks every action shares: the session's CSRF token, and the
/// admin scope. Anything else is refused with 403 before the action runs.
fn action_form(session: &Session, body: &Bytes) -> Result<Form, Box<Response>> {
    let form = Form::parse(body).map_err(|e| Box::new(error_page(session, &e)))?;
    if !session::csrf_matches(session, form.get("csrf").unwrap_or_default()) {
        return Err(Box::new(forbidden(
            session,
            "the form's CSRF token is missing or stale: reload the page and try again",
        )));
    }
    if !session.can_act() {
        return Err(Box::new(forbidden(
            session,
            "this key has the viewer scope: it may look, not act",
        )));
    }
    Ok(form)
}

/// After an action: back to `to` with a notice (post/redirect/get).
fn done(to: &str, msg: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let msg: String = url_encode(msg);
    Redirect::to(&format!("{to}{sep}msg={msg}")).into_response()
}

fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn sign_in_form(State(gateway): State<Gateway>, headers: HeaderMap) -> Response {
    if session::read(&gateway, &headers).is_some() {
        return Redirect::to("/console").into_response();
    }
    html_page(view::sign_in(None))
}

async fn sign_in(State(gateway): State<Gateway>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(console) = gateway.console.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let refuse = |status: StatusCode, why: &str| {
        let mut response = html_page(view::sign_in(Some(why)));
        *response.status_mut() = status;
        response
    };
    let Ok(form) = Form::parse(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let key = form.get("key").unwrap_or_default().trim();
    let Some(caller) = gateway.keys.caller(key).cloned() else {
        tracing::warn!("console sign-in refused: unknown key");
        return refuse(StatusCode::UNAUTHORIZED, "Unknown API key.");
    };
    if !caller.may_read_admin() {
        return refuse(
            StatusCode::FORBIDDEN,
            "This key has neither the admin nor the viewer scope.",
        );
    }
    tracing::info!(user = %caller.name, "console sign-in");
    let secure = session::secure(console.secure_cookie, &headers);
    let cookie = session::issue(&console.key, &caller, console.session_ttl, secure);
    let mut response = Redirect::to("/console").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn sign_out(
    State(gateway): State<Gateway>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = Form::parse(&body) else {
        return forbidden(&session, "the form could not be read");
    };
    if !session::csrf_matches(&session, form.get("csrf").unwrap_or_default()) {
        return forbidden(&session, "the form's CSRF token is missing or stale");
    }
    let secure = gateway
        .console
        .as_ref()
        .is_some_and(|c| session::secure(c.secure_cookie, &headers));
    let mut response = Redirect::to("/console/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::clear(secure)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

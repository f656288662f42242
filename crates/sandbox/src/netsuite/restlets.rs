//! RESTlets: `GET|POST|PUT|DELETE /app/site/hosting/restlet.nl?script=ID&deploy=ID`, authenticated
//! like every other call (TBA signs over `script` and `deploy` as query parameters; an OAuth 2.0
//! token needs the `restlets` scope).
//!
//! A RESTlet here is a Rust closure registered per `(script, deploy)`; it gets the request
//! parameters (the query string without `script`/`deploy`) and, for `POST`/`PUT`, the JSON body, as
//! a SuiteScript entry point would, and returns JSON or a [`RestletError`]. Errors answer 400 with
//! SuiteScript's `{"error":{"code","message"}}` body. One RESTlet ships built in:
//! [`SUMMARY_SCRIPT`] / [`SUMMARY_DEPLOY`] (see [`super::summary`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::Sandbox;

/// The path RESTlets are served on.
pub const RESTLET_PATH: &str = "/app/site/hosting/restlet.nl";
/// Script id of the customer financial summary RESTlet (the NetSuite package's).
pub const SUMMARY_SCRIPT: &str = "customscript_isthmus_summary_rl";
/// Deployment id of the customer financial summary RESTlet.
pub const SUMMARY_DEPLOY: &str = "customdeploy_isthmus_summary_rl";

/// What a RESTlet entry point receives.
#[derive(Debug, Clone, PartialEq)]
pub struct RestletRequest {
    pub method: Method,
    /// Query parameters other than `script` and `deploy` (SuiteScript's `requestParams` for GET/DELETE).
    pub params: BTreeMap<String, String>,
    /// The JSON body of a `POST` or `PUT` (`None` when empty).
    pub body: Option<Value>,
}

/// An error a RESTlet throws: 400 `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestletError {
    pub code: String,
    pub message: String,
}

impl RestletError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A registered RESTlet: the sandbox (for its data) and the request in, JSON or an error out.
pub type Restlet =
    Arc<dyn Fn(&Sandbox, &RestletRequest) -> Result<Value, RestletError> + Send + Sync>;

/// RESTlets by `(script, deploy)`.
#[derive(Default)]
pub struct Registry {
    restlets: RwLock<HashMap<(String, String), Restlet>>,
}

impl Registry {
    pub fn register(&self, script: &str, deploy: &str, restlet: Restlet) {
        self.restlets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((script.to_owned(), deploy.to_owned()), restlet);
    }

    fn get(&self, script: &str, deploy: &str) -> Option<Restlet> {
        self.restlets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(script.to_owned(), deploy.to_owned()))
            .cloned()
    }
}

/// SuiteScript's error body for RESTlets.
pub fn restlet_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

pub async fn call(
    State(sandbox): State<Sandbox>,
    method: Method,
    Query(mut params): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    let script = params.remove("script").unwrap_or_default();
    let deploy = params.remove("deploy").unwrap_or_default();
    let Some(restlet) = sandbox.inner.account.restlets.get(&script, &deploy) else {
        // *Unconfirmed*: the code NetSuite gives for an unknown script or deployment.
        return restlet_error(
            StatusCode::BAD_REQUEST,
            "SSS_INVALID_SCRIPTLET_ID",
            "That Suitelet is invalid, disabled, or no longer exists.",
        );
    };
    let body = if body.is_empty() || matches!(method, Method::GET | Method::DELETE) {
        None
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => Some(value),
            Err(_) => Some(Value::String(String::from_utf8_lossy(&body).into_owned())),
        }
    };
    let request = RestletRequest {
        method,
        params,
        body,
    };
    match restlet(&sandbox, &request) {
        Ok(value) => Json(value).into_response(),
        Err(err) => restlet_error(StatusCode::BAD_REQUEST, &err.code, &err.message),
    }
}

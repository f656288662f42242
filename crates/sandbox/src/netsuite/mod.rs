//! The simulated NetSuite account: REST web services under `/services/rest/` (record API and
//! SuiteQL), every call authenticated with token-based authentication, backed by SQLite.

mod error;
mod list;
mod records;
mod render;
mod schema;
mod store;
mod sublist;
mod suiteql;
pub mod tba;

use std::sync::{Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{Map, Value};

use crate::calls::System;
use crate::time::{now, ns_timestamp};
use crate::{control, Sandbox, SandboxConfig, SandboxError};
pub use error::ApiError;
use render::View;

/// The account's state: records and the TBA verifier (with its nonce memory).
pub struct Account {
    db: Mutex<store::Db>,
    verifier: tba::Verifier,
    account_id: String,
}

impl Account {
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        let db = store::Db::open()?;
        suiteql::register_functions(&db.conn)?;
        Ok(Self {
            db: Mutex::new(db),
            verifier: tba::Verifier::default(),
            account_id: config.netsuite_account_id.clone(),
        })
    }

    fn db(&self) -> MutexGuard<'_, store::Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record_type(name: &str) -> Result<&'static schema::RecordType, ApiError> {
        schema::record_type(name).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("Unknown record type '{name}'."),
            )
        })
    }

    /// Inserts with an explicit timestamp (seed data).
    pub fn insert_at(
        &self,
        record_type: &str,
        fields: &Map<String, Value>,
        at: &str,
    ) -> Result<String, SandboxError> {
        let record_type = Self::record_type(record_type)?;
        Ok(self.db().insert(record_type, fields, at)?.to_string())
    }

    pub fn insert(
        &self,
        record_type: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, SandboxError> {
        self.insert_at(record_type, fields, &ns_timestamp(now()))
    }

    pub fn update(
        &self,
        record_type: &str,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), SandboxError> {
        let record_type = Self::record_type(record_type)?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::nonexistent_id(record_type.name, id))?;
        Ok(self
            .db()
            .update(record_type, id, fields, &[], &ns_timestamp(now()))?)
    }

    pub fn all_records(&self, record_type: &str) -> Vec<Map<String, Value>> {
        let Ok(record_type) = Self::record_type(record_type) else {
            return Vec::new();
        };
        let db = self.db();
        let view = View {
            base: None,
            expand: true,
            fields: None,
        };
        let ids = db.ids(record_type).unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| db.render(record_type, id, &view).ok().flatten())
            .collect()
    }

    pub fn record(&self, record_type: &str, id: &str) -> Option<Map<String, Value>> {
        let record_type = Self::record_type(record_type).ok()?;
        let id: i64 = id.parse().ok()?;
        self.db()
            .render(
                record_type,
                id,
                &View {
                    base: None,
                    expand: true,
                    fields: None,
                },
            )
            .ok()
            .flatten()
    }
}

/// Every REST call must carry a valid TBA signature.
async fn require_tba(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let account = &sandbox.inner.account;
    let headers = request.headers();
    let signed = tba::SignedRequest {
        method: request.method().as_str(),
        scheme: "http",
        host: headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
        path: request.uri().path(),
        query: request.uri().query(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok()),
    };
    match account
        .verifier
        .verify(&account.account_id, &signed, chrono::Utc::now().timestamp())
    {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

pub fn router(sandbox: Sandbox) -> Router {
    let api = Router::new()
        .route(
            "/services/rest/record/v1/{record_type}",
            axum::routing::get(list::list).post(records::create),
        )
        .route(
            "/services/rest/record/v1/{record_type}/{id}",
            axum::routing::get(records::read)
                .patch(records::update)
                .put(records::upsert)
                .delete(records::delete),
        )
        .route("/services/rest/query/v1/suiteql", post(suiteql::suiteql))
        .route_layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            require_tba,
        ))
        .fallback(|request: Request| async move { ApiError::not_found(request.uri().path()) })
        .with_state(sandbox.clone());
    control::with_control(api, &sandbox, System::NetSuite)
}

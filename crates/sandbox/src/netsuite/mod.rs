//! The simulated NetSuite account: REST web services under `/services/rest/` (record API with
//! transforms, SuiteQL, asynchronous jobs) and RESTlets, every call authenticated with
//! token-based authentication or an OAuth 2.0 token, backed by SQLite.

mod accounting;
mod auth;
mod database;
mod defaults;
mod error;
mod jobs;
mod jwt;
mod ledger;
mod lifecycle;
mod limits;
mod list;
mod m2m;
mod metadata;
mod records;
mod render;
mod restlets;
mod schema;
mod store;
mod sublist;
mod suiteql;
mod summary;
pub mod tba;
pub(crate) mod transform;
mod units;
pub(crate) mod validation;
mod values;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};

use crate::calls::System;
use crate::time::{now, ns_timestamp};
use crate::{control, Sandbox, SandboxConfig, SandboxError};
pub use error::ApiError;
pub use limits::{fault_response, over_limit, OverLimitAnswer};
use render::View;
pub use restlets::{RestletError, RestletRequest};
pub use suiteql::SUITEQL_ROW_CAP;

/// The account's state: records and the TBA verifier (with its nonce memory).
pub struct Account {
    db: Mutex<store::Db>,
    verifier: tba::Verifier,
    account_id: String,
    pub restlets: restlets::Registry,
    client_credentials: m2m::ClientCredentials,
    jobs: jobs::Jobs,
    /// Rows of one SuiteQL query reachable by offset ([`SandboxConfig::netsuite_suiteql_row_cap`]).
    suiteql_row_cap: AtomicUsize,
    /// The account's time zone ([`SandboxConfig::netsuite_time_zone`]).
    zone: suiteql::AccountZone,
    /// Fields deleted, as the metadata catalog shows them.
    drift: crate::drift::SchemaDrift,
}

impl Account {
    /// The account, and whether its database is new (so wants seeding).
    pub fn open(config: &SandboxConfig) -> Result<(Self, bool), SandboxError> {
        let (db, fresh) = store::Db::open(config.persist_path.as_deref())?;
        let zone = suiteql::AccountZone::new(config.netsuite_time_zone);
        suiteql::register_functions(&db.conn, &zone)?;
        let restlets = restlets::Registry::default();
        restlets.register(
            restlets::SUMMARY_SCRIPT,
            restlets::SUMMARY_DEPLOY,
            std::sync::Arc::new(summary::customer_summary),
        );
        let account = Self {
            db: Mutex::new(db),
            verifier: tba::Verifier::default(),
            account_id: config.netsuite_account_id.clone(),
            restlets,
            client_credentials: m2m::ClientCredentials::new()
                .ok_or_else(|| ApiError::internal("the M2M test keys do not parse"))?,
            jobs: jobs::Jobs::default(),
            suiteql_row_cap: AtomicUsize::new(config.netsuite_suiteql_row_cap),
            zone,
            drift: crate::drift::SchemaDrift::default(),
        };
        Ok((account, fresh))
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

impl Sandbox {
    /// Sets how many rows of one SuiteQL query offset paging reaches (NetSuite: 100,000).
    pub fn set_suiteql_row_cap(&self, rows: usize) {
        self.inner
            .account
            .suiteql_row_cap
            .store(rows, Ordering::Relaxed);
    }

    /// Deletes a field of a record type, as an administrator deleting a custom field would: the
    /// metadata catalog no longer lists it (see [`crate::drift`] for what this does not change).
    pub fn ns_remove_field(&self, record_type: &str, field: &str) {
        self.inner.account.drift.rename(record_type, field, None);
    }

    /// Sets the account's time zone, the one SuiteQL compares and formats datetimes in.
    pub fn set_netsuite_time_zone(&self, zone: chrono_tz::Tz) {
        self.inner.account.zone.set(zone);
    }

    /// Inserts a NetSuite record as if it had been saved at `at` (its `lastModifiedDate` and
    /// creation date): records from a past day, such as one that changed its clocks.
    pub fn ns_insert_at(
        &self,
        record_type: &str,
        fields: Map<String, Value>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, SandboxError> {
        self.inner
            .account
            .insert_at(record_type, &fields, &ns_timestamp(at))
    }
}

/// `Ok` when the account serves records of type `name`, else the error [`Account::insert`] gives.
pub(crate) fn check_record_type(name: &str) -> Result<(), SandboxError> {
    Account::record_type(name)?;
    Ok(())
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
        .route(
            "/services/rest/record/v1/{record_type}/{id}/!transform/{target}",
            post(transform::transform),
        )
        .route(
            "/services/rest/record/v1/metadata-catalog",
            get(metadata::catalog),
        )
        .route(
            "/services/rest/record/v1/metadata-catalog/{record_type}",
            get(metadata::record_schema),
        )
        .route("/services/rest/query/v1/suiteql", post(suiteql::suiteql))
        .route("/services/rest/async/v1/job/{id}", get(jobs::job))
        .route("/services/rest/async/v1/job/{id}/task", get(jobs::tasks))
        .route(
            "/services/rest/async/v1/job/{id}/task/{task}",
            get(jobs::task),
        )
        .route(
            "/services/rest/async/v1/job/{id}/task/{task}/result",
            get(jobs::result),
        )
        .route(
            restlets::RESTLET_PATH,
            axum::routing::get(restlets::call)
                .post(restlets::call)
                .put(restlets::call)
                .delete(restlets::call),
        )
        // Inside authentication: only an authenticated request becomes a job.
        .route_layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            jobs::respond_async,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            auth::authenticate,
        ))
        .route(m2m::TOKEN_PATH, post(m2m::token))
        .fallback(|request: Request| async move { ApiError::not_found(request.uri().path()) })
        .with_state(sandbox.clone());
    control::with_control(api, &sandbox, System::NetSuite)
}

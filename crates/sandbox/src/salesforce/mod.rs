//! The simulated Salesforce org: OAuth token endpoint (client credentials, password, JWT bearer),
//! token revocation and the REST API under `/services/data/vNN.N/` (query, sObject CRUD, upsert
//! by external id, sObject Collections, Composite, updated/deleted, limits) and Bulk API 2.0
//! ingest and query jobs ([`bulk`]), backed by SQLite.
//!
//! Every REST call goes through one routing table ([`rest`]), whether it arrives over HTTP or as a
//! Composite subrequest. Every call counts against the daily API allocation ([`allocation`]).
//!
//! The records live in SQLite ([`store`]), in memory or in a file that outlives the sandbox.
//! Issued tokens, open query cursors and the API usage count are always in memory: a restart of a
//! persisted org ends every session and cursor (a real org keeps them), so clients sign in again.

mod allocation;
mod auth;
mod bulk;
mod changes;
mod clock;
mod collections;
mod composite;
mod error;
mod ids;
mod jwt;
mod metadata;
mod query;
mod quote_rules;
mod rest;
mod rules;
pub mod schema;
mod sobjects;
mod soql;
mod store;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{Map, Value};

use crate::calls::System;
use crate::time::sf_timestamp;
use crate::{control, Sandbox, SandboxConfig, SandboxError};
pub use bulk::Limits as BulkLimits;
pub use error::ApiError;
pub use store::Stamp;

/// The org's state: records, issued tokens, open query cursors and the API usage counter.
pub struct Org {
    db: Mutex<store::Db>,
    tokens: Mutex<HashSet<String>>,
    cursors: Mutex<query::Cursors>,
    bulk: Mutex<bulk::Jobs>,
    clock: clock::Clock,
    allocation: allocation::Allocation,
    page_size: AtomicUsize,
    child_page_size: AtomicUsize,
    pub org_id: String,
    pub integration_user_id: String,
    pub admin_user_id: String,
    /// Fields renamed or deleted and picklist values removed, as `describe` shows them.
    pub(crate) drift: crate::drift::SchemaDrift,
}

/// Child subquery rows per parent record before the child result pages (as in Salesforce).
pub const CHILD_PAGE_SIZE: usize = 200;

/// Timestamp of the org's creation (the two built-in users).
const ORG_CREATED: &str = "2026-01-05T08:00:00.000+0000";

/// The username of the org's first user, who creates the integration user.
const ADMIN_USERNAME: &str = "admin@isthmus.example";

/// A new org's records: the admin user (who creates itself), the integration user and the Standard
/// Price Book. Returns the ids of the admin and the integration user.
fn create_built_ins(db: &mut store::Db) -> Result<(String, String), SandboxError> {
    let user = schema::sobject("User").ok_or_else(|| ApiError::internal("no User object"))?;
    let admin = ids::generate(user.key_prefix, 1);
    let stamp = Stamp {
        user_id: &admin,
        at: ORG_CREATED,
    };
    let mut make_user = |name: &str, username: &str| {
        let mut fields = Map::new();
        fields.insert("Name".into(), name.into());
        fields.insert("Username".into(), username.into());
        db.insert(user, &fields, &stamp)
    };
    make_user("Ada Admin", ADMIN_USERNAME)?;
    let integration = make_user("Isthmus Integration", crate::credentials::SF_USERNAME)?;
    let pricebook =
        schema::sobject("Pricebook2").ok_or_else(|| ApiError::internal("no Pricebook2"))?;
    let mut fields = Map::new();
    fields.insert("Name".into(), "Standard Price Book".into());
    fields.insert("IsActive".into(), true.into());
    let standard = db.insert(pricebook, &fields, &stamp)?;
    db.conn.execute(
        "UPDATE \"Pricebook2\" SET \"IsStandard\" = 1 WHERE \"Id\" = ?1",
        [&standard],
    )?;
    Ok((admin, integration))
}

impl Org {
    /// Opens the org: in memory, or the SQLite file at [`SandboxConfig::salesforce_persist_path`].
    /// A new org gets its two users and the Standard Price Book, then `setup` (the seed); an
    /// existing one is used as it is. Either way the org is written in one transaction.
    pub fn open(
        config: &SandboxConfig,
        setup: impl FnOnce(&Org) -> Result<(), SandboxError>,
    ) -> Result<Self, SandboxError> {
        let path = config.salesforce_persist_path();
        let (mut db, fresh) = store::Db::open(path.as_deref())?;
        let clock = db.clock.clone();
        let (admin_user_id, integration_user_id) = if fresh {
            create_built_ins(&mut db)?
        } else {
            let user = |username: &str| {
                db.user_id_by_username(username)
                    .ok_or_else(|| ApiError::internal("the persisted org has lost a built-in user"))
            };
            (
                user(ADMIN_USERNAME)?,
                user(crate::credentials::SF_USERNAME)?,
            )
        };
        let org = Self {
            db: Mutex::new(db),
            tokens: Mutex::default(),
            cursors: Mutex::new(query::Cursors::new(
                config.sf_open_query_cursors,
                config.sf_query_cursor_idle,
            )),
            bulk: Mutex::default(),
            clock,
            allocation: allocation::Allocation::default(),
            page_size: AtomicUsize::new(config.sf_query_page_size.max(1)),
            child_page_size: AtomicUsize::new(CHILD_PAGE_SIZE),
            org_id: ids::generate(schema::ORG_KEY_PREFIX, 1),
            integration_user_id,
            admin_user_id,
            drift: crate::drift::SchemaDrift::default(),
        };
        if fresh {
            setup(&org)?;
        }
        org.db().commit()?;
        Ok(org)
    }

    /// The org's current time: the real time moved by [`Org::shift_clock`].
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Moves the org's clock by `by` (negative: back), e.g. past the 15 days its deleted-records
    /// log covers, or past a query cursor's idle timeout.
    pub fn shift_clock(&self, by: chrono::Duration) {
        self.clock.shift(by);
    }

    /// Puts the org's clock back on the real time.
    pub fn reset_clock(&self) {
        self.clock.reset();
    }

    fn db(&self) -> MutexGuard<'_, store::Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bulk_jobs(&self) -> MutexGuard<'_, bulk::Jobs> {
        self.bulk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the Bulk API 2.0 limits (tests lower them; the defaults are Salesforce's).
    pub fn set_bulk_limits(&self, limits: BulkLimits) {
        self.bulk_jobs().limits = limits;
    }

    /// `(max, remaining)` Bulk API 2.0 query jobs, then batches, of the rolling 24 hours.
    fn bulk_limits_left(&self) -> ((u64, u64), (u64, u64)) {
        let now = self.now();
        let mut jobs = self.bulk_jobs();
        (jobs.query_jobs_left(now), jobs.batches_left(now))
    }

    /// The Bulk API 2.0 limits in force.
    pub fn bulk_limits(&self) -> BulkLimits {
        self.bulk_jobs().limits
    }

    fn cursors(&self) -> MutexGuard<'_, query::Cursors> {
        self.cursors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets how many child subquery rows a parent record carries before the child result pages
    /// with its own `nextRecordsUrl` (default [`CHILD_PAGE_SIZE`]; at least 1).
    pub fn set_child_page_size(&self, rows: usize) {
        self.child_page_size.store(rows.max(1), Ordering::Relaxed);
    }

    /// Sets how many records a query page holds before `nextRecordsUrl` (the org's page size,
    /// [`crate::SandboxConfig::sf_query_page_size`] at start; at least 1).
    pub fn set_query_page_size(&self, rows: usize) {
        self.page_size.store(rows.max(1), Ordering::Relaxed);
    }

    fn page_size(&self) -> usize {
        self.page_size.load(Ordering::Relaxed)
    }

    fn child_page_size(&self) -> usize {
        self.child_page_size.load(Ordering::Relaxed)
    }

    fn tokens(&self) -> MutexGuard<'_, HashSet<String>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts with an explicit author and timestamp (seed data and test setup).
    pub fn insert_stamped(
        &self,
        sobject: &str,
        fields: &Map<String, Value>,
        stamp: &Stamp,
    ) -> Result<String, SandboxError> {
        let object = schema::sobject(sobject).ok_or_else(|| ApiError::invalid_type(sobject))?;
        Ok(self.db().insert(object, fields, stamp)?)
    }

    pub fn insert_as_admin(
        &self,
        sobject: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, SandboxError> {
        let at = sf_timestamp(self.now());
        self.insert_stamped(
            sobject,
            fields,
            &Stamp {
                user_id: &self.admin_user_id,
                at: &at,
            },
        )
    }

    pub fn update_as_admin(
        &self,
        sobject: &str,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), SandboxError> {
        let object = schema::sobject(sobject).ok_or_else(|| ApiError::invalid_type(sobject))?;
        let id = ids::normalize(id).ok_or_else(ApiError::not_found)?;
        let at = sf_timestamp(self.now());
        Ok(self.db().update(
            object,
            &id,
            fields,
            &Stamp {
                user_id: &self.admin_user_id,
                at: &at,
            },
        )?)
    }

    pub fn all_records(&self, sobject: &str) -> Vec<Map<String, Value>> {
        let Some(object) = schema::sobject(sobject) else {
            return Vec::new();
        };
        self.db().all(object).unwrap_or_default()
    }

    pub fn record(&self, sobject: &str, id: &str) -> Option<Map<String, Value>> {
        let object = schema::sobject(sobject)?;
        let id = ids::normalize(id)?;
        self.db().fetch(object, &id, &[]).ok().flatten()
    }
}

/// `Ok` when the org has an sObject called `name`, else Salesforce's `INVALID_TYPE`.
pub(crate) fn check_sobject(name: &str) -> Result<(), SandboxError> {
    match schema::sobject(name) {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid_type(name).into()),
    }
}

/// `v61.0` → `61.0`; anything else is not a Salesforce API path.
fn version_of(segment: &str) -> Result<&str, ApiError> {
    let version = segment.strip_prefix('v').ok_or_else(ApiError::not_found)?;
    let (major, minor) = version.split_once('.').ok_or_else(ApiError::not_found)?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if numeric(major) && numeric(minor) {
        Ok(version)
    } else {
        Err(ApiError::not_found())
    }
}

pub fn router(sandbox: Sandbox) -> Router {
    let api = Router::new()
        .route("/services/data/{version}/{*rest}", any(rest::serve))
        .route(
            "/services/data/{version}/jobs/{*rest}",
            any(bulk::serve).layer(DefaultBodyLimit::max(bulk::MAX_BODY_BYTES)),
        )
        .fallback(|| async { ApiError::not_found() })
        .route_layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            auth::require_session,
        ));
    let routes = Router::new()
        .route("/services/oauth2/token", post(auth::token))
        .route(
            "/services/oauth2/revoke",
            get(auth::revoke).post(auth::revoke),
        )
        .route("/services/data", get(metadata::versions))
        .merge(api)
        .with_state(sandbox.clone());
    control::with_control(routes, &sandbox, System::Salesforce).merge(allocation::control(sandbox))
}

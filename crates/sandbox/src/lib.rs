//! # isthmus-sandbox
//!
//! A simulated Salesforce org and NetSuite account, served over real HTTP on loopback, for tests,
//! benchmarks and `isthmus dev`. It follows the vendors' documented wire formats (paths, status codes,
//! headers, JSON shapes, error bodies and authentication checks), not the shape of our own connectors,
//! so an independent client library can talk to it as it would to the real systems.
//!
//! ## Layout
//!
//! - [`Sandbox`]: the shared state (two SQLite databases, tokens, cursors, call counts) with direct
//!   accessors for tests (`sf_records`, `ns_insert`, ...) that bypass HTTP and call counting.
//! - `salesforce`: OAuth token endpoint, SOQL (tokenizer, recursive-descent parser, translation to
//!   parameterised SQLite SQL), sObject CRUD and upsert by external id.
//! - `netsuite`: token-based authentication (OAuth 1.0a, HMAC-SHA256), record API with external-id
//!   upsert and sublists, SuiteQL run on SQLite.
//! - `control`: call counting, added latency and the `/__sandbox/` control endpoints.
//! - [`seed`]: the deterministic demo company and the facts tests rely on.
//!
//! ## Dev credentials
//!
//! Fixed, public, and only meaningful to the sandbox (see [`credentials`]):
//!
//! | system | credential | value |
//! | --- | --- | --- |
//! | Salesforce | client id / secret | `isthmus-sandbox-client` / `isthmus-sandbox-secret` |
//! | Salesforce | username / password (password grant) | `integration@isthmus.example` / `isthmus-sandbox-password` |
//! | NetSuite | account id (realm) | `1234567` |
//! | NetSuite | consumer key / secret | `isthmus-sandbox-consumer-key` / `isthmus-sandbox-consumer-secret` |
//! | NetSuite | token id / secret | `isthmus-sandbox-token-id` / `isthmus-sandbox-token-secret` |
//!
//! ## Invariants
//!
//! - Salesforce and NetSuite data live in two separate SQLite databases, so SuiteQL can never see
//!   Salesforce tables.
//! - Every API call (not the control endpoints, not the direct accessors) is counted under a
//!   `"METHOD route-pattern"` key and delayed by [`SandboxConfig::latency`].
//! - Seeded data is deterministic: the same ids and timestamps on every start.

mod calls;
mod control;
mod error;
mod netsuite;
mod salesforce;
pub mod seed;
mod time;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

pub use calls::CallCounts;
pub use error::SandboxError;

/// Fixed development credentials accepted by the sandbox.
pub mod credentials {
    /// Salesforce connected-app consumer key (`client_id`).
    pub const SF_CLIENT_ID: &str = "isthmus-sandbox-client";
    /// Salesforce connected-app consumer secret (`client_secret`).
    pub const SF_CLIENT_SECRET: &str = "isthmus-sandbox-secret";
    /// Username of the integration user (for the OAuth password grant).
    pub const SF_USERNAME: &str = "integration@isthmus.example";
    /// Password of the integration user (for the OAuth password grant).
    pub const SF_PASSWORD: &str = "isthmus-sandbox-password";
    /// NetSuite account id, the OAuth `realm`.
    pub const NS_ACCOUNT_ID: &str = "1234567";
    /// NetSuite integration record consumer key.
    pub const NS_CONSUMER_KEY: &str = "isthmus-sandbox-consumer-key";
    /// NetSuite integration record consumer secret.
    pub const NS_CONSUMER_SECRET: &str = "isthmus-sandbox-consumer-secret";
    /// NetSuite access token id.
    pub const NS_TOKEN_ID: &str = "isthmus-sandbox-token-id";
    /// NetSuite access token secret.
    pub const NS_TOKEN_SECRET: &str = "isthmus-sandbox-token-secret";
}

/// How a sandbox starts.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Load the demo company ([`seed`]). Default `false`: an empty org and account.
    pub seed: bool,
    /// The Salesforce API version advertised (`"61.0"`); any `vNN.N` is accepted in paths.
    pub api_version: String,
    /// NetSuite account id, the realm TBA signatures must carry. Default [`credentials::NS_ACCOUNT_ID`].
    pub netsuite_account_id: String,
    /// Delay added to every API call. Default zero.
    pub latency: Duration,
    /// Records per SOQL result page before `nextRecordsUrl` (Salesforce: 2000).
    pub sf_query_page_size: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: false,
            api_version: "61.0".to_owned(),
            netsuite_account_id: credentials::NS_ACCOUNT_ID.to_owned(),
            latency: Duration::ZERO,
            sf_query_page_size: 2000,
        }
    }
}

/// The simulated org and account. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    org: salesforce::Org,
    account: netsuite::Account,
    calls: calls::CallLog,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Creates the databases and, when `config.seed`, loads the demo company.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let org = salesforce::Org::new(&config)?;
        let account = netsuite::Account::new(&config)?;
        if config.seed {
            seed::load(&org, &account)?;
        }
        let calls = calls::CallLog::default();
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                org,
                account,
                calls,
            }),
        })
    }

    /// The Salesforce login endpoint and REST API, plus the `/__sandbox/` control endpoints.
    pub fn salesforce_router(&self) -> axum::Router {
        salesforce::router(self.clone())
    }

    /// The NetSuite REST web services, plus the `/__sandbox/` control endpoints.
    pub fn netsuite_router(&self) -> axum::Router {
        netsuite::router(self.clone())
    }

    /// All records of an sObject, keyed by API field name (no `attributes`).
    pub fn sf_records(&self, sobject: &str) -> Vec<Map<String, Value>> {
        self.inner.org.all_records(sobject)
    }

    /// One record by 15- or 18-character id.
    pub fn sf_record(&self, sobject: &str, id: &str) -> Option<Map<String, Value>> {
        self.inner.org.record(sobject, id)
    }

    /// Inserts a record as the org's admin user (a human edit, not the integration); returns the 18-char id.
    pub fn sf_insert(
        &self,
        sobject: &str,
        fields: Map<String, Value>,
    ) -> Result<String, SandboxError> {
        self.inner.org.insert_as_admin(sobject, &fields)
    }

    /// Updates a record as the org's admin user; bumps `LastModifiedDate` and `SystemModstamp`.
    pub fn sf_update(
        &self,
        sobject: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), SandboxError> {
        self.inner.org.update_as_admin(sobject, id, &fields)
    }

    /// All records of a NetSuite record type, as `GET …?expandSubResources=true` shows them, without `links`.
    pub fn ns_records(&self, record_type: &str) -> Vec<Map<String, Value>> {
        self.inner.account.all_records(record_type)
    }

    /// One NetSuite record by internal id, with sublists expanded, without `links`.
    pub fn ns_record(&self, record_type: &str, id: &str) -> Option<Map<String, Value>> {
        self.inner.account.record(record_type, id)
    }

    /// Creates a NetSuite record (fields as in a REST `POST` body); returns the internal id.
    pub fn ns_insert(
        &self,
        record_type: &str,
        fields: Map<String, Value>,
    ) -> Result<String, SandboxError> {
        self.inner.account.insert(record_type, &fields)
    }

    /// Updates a NetSuite record (fields as in a REST `PATCH` body; sublist items are added).
    pub fn ns_update(
        &self,
        record_type: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), SandboxError> {
        self.inner.account.update(record_type, id, &fields)
    }

    /// Counts of API calls so far, by system and `"METHOD route-pattern"`.
    pub fn calls(&self) -> CallCounts {
        self.inner.calls.snapshot()
    }

    /// Sets every call count back to zero.
    pub fn reset_calls(&self) {
        self.inner.calls.reset();
    }

    fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

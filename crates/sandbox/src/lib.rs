//! # isthmus-sandbox
//!
//! A simulated Salesforce org and NetSuite account, served over real HTTP on loopback, for tests,
//! benchmarks and `isthmus dev`. It follows the vendors' documented wire formats (paths, status codes,
//! headers, JSON shapes, error bodies and authentication checks), not the shape of our own connectors,
//! so an independent client library can talk to it as it would to the real systems.
//!
//! ## Layout
//!
//! - [`Sandbox`]: the shared state (two SQLite databases, in memory or in files that outlive the
//!   sandbox; tokens, cursors and call counts always in memory) with direct accessors for tests
//!   (`sf_records`, `ns_insert`, ...) that bypass HTTP and call counting.
//! - `salesforce`: OAuth token endpoint, SOQL (tokenizer, recursive-descent parser, translation to
//!   parameterised SQLite SQL), sObject CRUD and upsert by external id.
//! - `netsuite`: token-based authentication (OAuth 1.0a, HMAC-SHA256) and OAuth 2.0 M2M tokens,
//!   the record API (customers, contacts, subsidiaries, currencies, four item types, sales orders,
//!   fulfilments, invoices, payments, credit memos) with external-id upsert, sublists, transforms
//!   and the account's bookkeeping, asynchronous jobs with idempotency keys, SuiteQL run on
//!   SQLite, and RESTlets.
//! - `control`: the layer around every API call (counting, scheme, governance, faults, latency) and
//!   the `/__sandbox/` control endpoints, among them record edits as the vendors' own users make
//!   them (`/__sandbox/{salesforce|netsuite}/records/…`); `governance` (in-flight window,
//!   concurrency limit, counters) and [`faults`] (injected errors, timeouts, dropped connections)
//!   behind it.
//! - `transport`: [`serve`] (HTTP) and [`serve_tls`] (HTTPS with a generated [`TlsIdentity`]).
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
//! | NetSuite | M2M client id, certificate ids | `isthmus-sandbox-m2m-client`; keys in `keys/` |
//!
//! ## Invariants
//!
//! - Salesforce and NetSuite data live in two separate SQLite databases, so SuiteQL can never see
//!   Salesforce tables.
//! - Every API call (not the control endpoints, not the direct accessors) is counted under a
//!   `"METHOD route-pattern"` key and delayed by the system's latency inside its in-flight window.
//! - Seeded data is deterministic: the same ids and timestamps on every start.

mod calls;
mod control;
pub mod credentials;
mod drift;
mod error;
pub mod faults;
mod governance;
mod netsuite;
mod salesforce;
pub mod seed;
mod tenant;
mod time;
mod transport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

pub use calls::{CallCounts, System};
pub use error::SandboxError;
pub use faults::{Fault, FaultKind};
pub use governance::{Counters, SystemCounters};
pub use netsuite::{OverLimitAnswer, RestletError, RestletRequest};
pub use salesforce::{BulkLimits, Org};
pub use tenant::TenantStep;
pub use transport::{serve, serve_tls, TlsIdentity};

/// How a sandbox starts.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Load the demo company ([`seed`]). Default `false`: an empty org and account.
    pub seed: bool,
    /// The Salesforce API version advertised (`"61.0"`); any `vNN.N` is accepted in paths.
    pub api_version: String,
    /// NetSuite account id, the realm TBA signatures must carry. Default [`credentials::NS_ACCOUNT_ID`].
    pub netsuite_account_id: String,
    /// Delay added to every API call of both systems at start (inside the in-flight window);
    /// change it per system at run time with [`Sandbox::set_latency`]. Default zero.
    pub latency: Duration,
    /// Records per SOQL result page before `nextRecordsUrl` (Salesforce: 2000).
    pub sf_query_page_size: usize,
    /// Query cursors (`nextRecordsUrl`) the integration user may hold open at once; opening one
    /// more releases the oldest (Salesforce: 10).
    pub sf_open_query_cursors: usize,
    /// How long a query cursor lives without being read, on the org's clock (Salesforce: 15
    /// minutes). A released or expired cursor answers `INVALID_QUERY_LOCATOR`.
    pub sf_query_cursor_idle: Duration,
    /// NetSuite's account concurrency limit across REST, SuiteQL and RESTlets; `None` for no limit.
    /// Default 5 (developer and standard accounts).
    pub netsuite_concurrency_limit: Option<usize>,
    /// How REST web services refuse a call over the concurrency limit.
    pub netsuite_over_limit: OverLimitAnswer,
    /// The load of the NetSuite account's other tenant (other integrations and SuiteApps): the
    /// slots it holds against [`SandboxConfig::netsuite_concurrency_limit`], as steps timed from
    /// the sandbox's start (or its last control reset). Change it at run time with
    /// [`Sandbox::set_netsuite_other_tenant`]. Default: none.
    pub netsuite_other_tenant: Vec<TenantStep>,
    /// Keep both systems in SQLite files instead of in memory: the NetSuite account in this file
    /// and the Salesforce org next to it, in the same name with `.salesforce` appended
    /// (`dev.sqlite` and `dev.sqlite.salesforce`; see [`SandboxConfig::salesforce_persist_path`]).
    /// Each file is seeded (when [`SandboxConfig::seed`]) only when it is new, and ids continue
    /// after the highest in use. Unlike a real org or account, sessions do not survive a restart:
    /// tokens, query cursors, nonces, asynchronous jobs, RESTlets registered at run time and the
    /// API usage count are in memory, so clients sign in again. Default `None`.
    pub persist_path: Option<PathBuf>,
    /// Rows of one SuiteQL query reachable by offset paging (NetSuite: 100,000); a page that
    /// starts at or past it is refused. Set it small to test walks of large tables without
    /// seeding them; change it at run time with [`Sandbox::set_suiteql_row_cap`].
    pub netsuite_suiteql_row_cap: usize,
    /// The NetSuite account's time zone (Setup > Company > General Preferences), the one
    /// SuiteQL's `TO_CHAR`, `TO_DATE`/`TO_TIMESTAMP` and date columns use. Default UTC; change
    /// it at run time with [`Sandbox::set_netsuite_time_zone`].
    pub netsuite_time_zone: chrono_tz::Tz,
}

impl SandboxConfig {
    /// The file keeping the Salesforce org: [`SandboxConfig::persist_path`] with `.salesforce`
    /// appended to its name, or `None` when the sandbox is in memory.
    pub fn salesforce_persist_path(&self) -> Option<PathBuf> {
        self.persist_path.as_ref().map(|path| {
            let mut name = path.clone().into_os_string();
            name.push(".salesforce");
            PathBuf::from(name)
        })
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: false,
            api_version: "61.0".to_owned(),
            netsuite_account_id: credentials::NS_ACCOUNT_ID.to_owned(),
            latency: Duration::ZERO,
            sf_query_page_size: 2000,
            sf_open_query_cursors: 10,
            sf_query_cursor_idle: Duration::from_secs(15 * 60),
            netsuite_concurrency_limit: Some(5),
            netsuite_over_limit: OverLimitAnswer::default(),
            netsuite_other_tenant: Vec::new(),
            persist_path: None,
            netsuite_suiteql_row_cap: netsuite::SUITEQL_ROW_CAP,
            netsuite_time_zone: chrono_tz::Tz::UTC,
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
    salesforce_governor: governance::Governor,
    netsuite_governor: governance::Governor,
    salesforce_faults: faults::FaultSet,
    netsuite_faults: faults::FaultSet,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Opens the databases and, when `config.seed`, loads the demo company into each system whose
    /// database is new (always, unless [`SandboxConfig::persist_path`] names existing files).
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let org = salesforce::Org::open(&config, |org| {
            if config.seed {
                seed::load_salesforce(org)
            } else {
                Ok(())
            }
        })?;
        let (account, fresh) = netsuite::Account::open(&config)?;
        if config.seed && fresh {
            seed::load_netsuite(&account)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                salesforce_governor: governance::Governor::new(None, config.latency, Vec::new()),
                netsuite_governor: governance::Governor::new(
                    config.netsuite_concurrency_limit,
                    config.latency,
                    config.netsuite_other_tenant.clone(),
                ),
                config,
                org,
                account,
                calls: calls::CallLog::default(),
                salesforce_faults: faults::FaultSet::default(),
                netsuite_faults: faults::FaultSet::default(),
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

    /// The simulated Salesforce org (its daily API allocation and other org-level state).
    pub fn salesforce_org(&self) -> &Org {
        &self.inner.org
    }

    /// In-flight, peak, over-limit and injected-fault counters of both systems.
    pub fn counters(&self) -> Counters {
        Counters {
            salesforce: self.inner.salesforce_governor.counters(),
            netsuite: self.inner.netsuite_governor.counters(),
        }
    }

    /// Sets the load of the NetSuite account's other tenant: the slots it holds from each step's
    /// `after_ms` on, timed from now (one step at `0` for a constant load; none for an idle tenant).
    pub fn set_netsuite_other_tenant(&self, steps: Vec<TenantStep>) {
        self.inner.netsuite_governor.other_tenant().set(steps);
    }

    /// The other tenant's schedule in force, and milliseconds since it was set.
    pub fn netsuite_other_tenant(&self) -> (Vec<TenantStep>, u64) {
        let tenant = self.inner.netsuite_governor.other_tenant();
        (tenant.steps(), tenant.elapsed_ms())
    }

    /// The latency added to every call of `system`.
    pub fn latency(&self, system: System) -> Duration {
        self.governor(system).latency()
    }

    /// Changes the latency added to every call of `system` from the next call on.
    pub fn set_latency(&self, system: System, latency: Duration) {
        self.governor(system).set_latency(latency);
    }

    /// Adds a fault rule for `system`'s API calls (rules are tried in the order added).
    pub fn inject_fault(&self, system: System, fault: Fault) {
        self.fault_set(system).add(fault);
    }

    /// The fault rules of `system` still in force.
    pub fn faults(&self, system: System) -> Vec<Fault> {
        self.fault_set(system).list()
    }

    /// Removes every fault rule of `system`.
    pub fn clear_faults(&self, system: System) {
        self.fault_set(system).clear();
    }

    /// Back to the configured state: counts and counters zero, no faults, configured latency, the
    /// other tenant's configured schedule restarted.
    pub fn reset_control(&self) {
        self.reset_calls();
        self.set_netsuite_other_tenant(self.inner.config.netsuite_other_tenant.clone());
        for system in [System::Salesforce, System::NetSuite] {
            self.governor(system).reset();
            self.clear_faults(system);
            self.set_latency(system, self.inner.config.latency);
        }
    }

    /// Registers a RESTlet at `script`/`deploy` (replacing any there), callable as
    /// `/app/site/hosting/restlet.nl?script={script}&deploy={deploy}`.
    pub fn register_restlet<F>(&self, script: &str, deploy: &str, restlet: F)
    where
        F: Fn(&Sandbox, &RestletRequest) -> Result<Value, RestletError> + Send + Sync + 'static,
    {
        self.inner
            .account
            .restlets
            .register(script, deploy, Arc::new(restlet));
    }

    fn governor(&self, system: System) -> &governance::Governor {
        match system {
            System::Salesforce => &self.inner.salesforce_governor,
            System::NetSuite => &self.inner.netsuite_governor,
        }
    }

    fn fault_set(&self, system: System) -> &faults::FaultSet {
        match system {
            System::Salesforce => &self.inner.salesforce_faults,
            System::NetSuite => &self.inner.netsuite_faults,
        }
    }

    fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }
}

//! The sections of the config file: one struct per `[section]`, with the enums its keys take
//! and the small accessors (durations, retry policy) built on them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Lifecycle, Ownership};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub max_entries: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    pub webhook_url_file: String,
    pub min_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub worker_concurrency: usize,
    pub retryable_attempts: u32,
    pub permanent_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub reclaim_idle_ms: u64,
    pub job_ttl_s: u64,
    pub sync_wait_ms: u64,
    pub hold_pause_ms: u64,
}

impl QueueConfig {
    pub fn retry_policy(&self) -> crate::work::RetryPolicy {
        crate::work::RetryPolicy {
            retryable_attempts: self.retryable_attempts.max(1),
            permanent_attempts: self.permanent_attempts.max(1),
            base_delay: Duration::from_millis(self.backoff_base_ms),
            max_delay: Duration::from_millis(self.backoff_max_ms.max(self.backoff_base_ms)),
            hold_pause: Duration::from_millis(self.hold_pause_ms.max(1)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub redis_url: String,
    pub connection: String,
    /// PEM CA file a `rediss` server's certificate must chain to; empty: the system's roots.
    pub tls_ca_file: String,
    /// PEM client certificate for servers with `tls-auth-clients yes`; empty: none.
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file` (the key is read only from this file).
    pub tls_key_file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSection {
    pub login_url: String,
    pub api_version: String,
    pub auth: SalesforceAuthKind,
    pub client_id: String,
    pub client_secret_file: String,
    pub username: String,
    pub jwt_audience: String,
    pub private_key_file: String,
    pub timeout_ms: u64,
    pub batch_share: f64,
    pub allocation_poll_ms: u64,
    /// Records above which a backfill, a catalog full run or a reconciliation reads and writes
    /// Salesforce through Bulk API 2.0 jobs instead of REST pages and Collections.
    pub bulk_threshold: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteSection {
    pub account_id: String,
    pub base_url: String,
    pub restlet_base_url: String,
    pub auth: NetSuiteAuthKind,
    pub consumer_key: String,
    pub consumer_secret_file: String,
    pub token_id: String,
    pub token_secret_file: String,
    pub client_id: String,
    pub certificate_id: String,
    pub algorithm: String,
    pub scopes: Vec<String>,
    pub private_key_file: String,
    pub timeout_ms: u64,
    pub concurrency_limit: u32,
    /// Learn the limit in force at run time from the account's free share (other integrations
    /// draw on the same limit), `concurrency_limit` being its ceiling; see
    /// `governance::adaptive`. Off: a fixed semaphore of `concurrency_limit`.
    pub adaptive_concurrency: bool,
    /// β of the multiplicative decrease on an over-limit answer, in (0, 1).
    pub adaptive_decrease: f64,
    /// Rounds of successes (× the limit) before the limit rises by one below the level last
    /// refused, and before a rise passes its trial.
    pub adaptive_climb_rounds: u32,
    /// Milliseconds before probing onto the level last refused (jittered ±50 %).
    pub adaptive_probe_ms: u64,
    /// The longest probe wait, milliseconds: each failed probe doubles the wait up to it.
    pub adaptive_probe_max_ms: u64,
    /// The account's time zone, an IANA name (`America/Los_Angeles`); see [`Self::zone`].
    pub time_zone: String,
}

impl NetSuiteSection {
    /// The account's time zone: SuiteQL compares and formats datetimes in it (checked when the
    /// configuration loads; UTC if it does not parse).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }
}

/// How Isthmus signs in to Salesforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceAuthKind {
    ClientCredentials,
    JwtBearer,
}

/// How Isthmus signs in to NetSuite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetSuiteAuthKind {
    Tba,
    Oauth2,
}

/// One scalar field of the Account ↔ customer mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPair {
    pub salesforce: String,
    pub netsuite: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomersConfig {
    pub listen: String,
    pub lock_ttl_ms: u64,
    pub lock_wait_ms: u64,
    pub backfill_concurrency: usize,
    pub default_subsidiary: String,
    pub delta_accounts: DeltaAccounts,
    pub account_deleted: AccountDeleted,
    pub matching: Vec<MatchRule>,
    pub company_suffixes: Vec<String>,
    pub free_email_domains: Vec<String>,
    pub fields: BTreeMap<String, FieldPair>,
    pub countries: BTreeMap<String, String>,
    /// Policy per canonical field (see [`Ownership`]); unlisted ones take `default_ownership`.
    pub ownership: BTreeMap<String, Ownership>,
    pub default_ownership: Ownership,
    /// Conflicts the log keeps (oldest resolved ones dropped first; parked ones always kept).
    pub conflict_log_len: usize,
    /// The stage and NetSuite status of customers created from accounts (see [`Lifecycle`]).
    pub lifecycle: Lifecycle,
    /// Consent fields that travel with contacts (see [`ConsentConfig`]).
    pub consent: ConsentConfig,
    /// Erasure of a person: the mode of each side and the legal holds (see [`PrivacyConfig`]).
    pub privacy: super::PrivacyConfig,
}

/// Contact consent beyond e-mail opt-out, which always travels (`customers.consent`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    /// The NetSuite contact checkbox that holds Salesforce's `DoNotCall`; empty: not synced.
    pub netsuite_do_not_call: String,
    /// Further consent checkboxes by canonical name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldPair>,
}

impl CustomersConfig {
    pub fn lock_ttl(&self) -> Duration {
        Duration::from_millis(self.lock_ttl_ms)
    }
    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }
}

/// Traces and metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/HTTP endpoint traces are exported to (`http://collector:4318`); "" exports none.
    pub otlp_endpoint: String,
    /// `service.name` of this process's spans is `<prefix>-<part>` (`isthmus-customers`).
    pub service_name_prefix: String,
    /// Where a service process serves Prometheus `/metrics` (the gateway serves it on its own
    /// port); "" serves none.
    pub metrics_listen: String,
    /// How log lines are written: `text` for people, `json` (one object per line, with the
    /// request's `trace_id` and `span_id`) for log pipelines.
    pub log_format: LogFormat,
}

/// The format of log lines (`telemetry.log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Which changed accounts the scheduled delta sends to NetSuite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaAccounts {
    /// Accounts already linked to a customer.
    Linked,
    /// Every changed account.
    All,
}

/// What a deleted Salesforce account does to its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountDeleted {
    /// Mark the customer inactive and drop the link.
    Inactivate,
    /// Leave the customer and the link.
    Ignore,
}

/// The flows the mesh runs by itself, as cron expressions ("" = off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulesConfig {
    pub customers_delta: String,
    pub catalog_delta: String,
    pub account_summaries: String,
    pub subsidiaries: String,
    pub reconcile: String,
    /// The schema doctor (customers service): `crate::doctor`, its report kept for `GET /v1/doctor`.
    pub doctor: String,
    pub delta_overlap_s: u64,
    pub delta_page_size: usize,
    /// Finance service: receivables aging per customer and currency → `NetSuite_Aging__c`.
    pub aging: String,
    /// Finance service: GL balances by period of `finance.gl_accounts` → `NetSuite_GL_Balance__c`.
    pub gl_balances: String,
}

impl SchedulesConfig {
    /// The schedule of `expression`, `None` when it is empty (off).
    pub fn parse(expression: &str) -> crate::error::Result<Option<crate::schedule::Schedule>> {
        if expression.trim().is_empty() {
            return Ok(None);
        }
        crate::schedule::Schedule::parse(expression).map(Some)
    }

    pub fn delta_overlap(&self) -> Duration {
        Duration::from_secs(self.delta_overlap_s)
    }

    /// Every schedule by name, to validate them together.
    pub(super) fn all(&self) -> [(&'static str, &str); 8] {
        [
            ("customers_delta", &self.customers_delta),
            ("catalog_delta", &self.catalog_delta),
            ("account_summaries", &self.account_summaries),
            ("subsidiaries", &self.subsidiaries),
            ("reconcile", &self.reconcile),
            ("doctor", &self.doctor),
            ("aging", &self.aging),
            ("gl_balances", &self.gl_balances),
        ]
    }
}

/// A rule that finds an unlinked far record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    ExternalId,
    EmailDomain,
    CompanyName,
}

impl MatchRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExternalId => "external_id",
            Self::EmailDomain => "email_domain",
            Self::CompanyName => "company_name",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    pub listen: String,
    pub lock_ttl_ms: u64,
    pub lock_wait_ms: u64,
    pub item_types: Vec<String>,
    pub standard_price_level: String,
    pub batch_size: usize,
    pub delta_overlap_s: u64,
    pub deactivate_inactive_items: bool,
    /// NetSuite price level id → Salesforce price book name.
    pub price_books: BTreeMap<String, String>,
    /// NetSuite item type → Product2 Family.
    pub families: BTreeMap<String, String>,
    /// The Product2 text field whose value an unlinked product must equal an item's `itemId`
    /// in to be linked instead of a new product created; empty turns matching off.
    pub product_match_field: String,
}

impl CatalogConfig {
    pub fn lock_ttl(&self) -> Duration {
        Duration::from_millis(self.lock_ttl_ms)
    }
    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }
}

/// When an Opportunity counts as won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WonRule {
    IsWon,
    Stage,
    Checkbox,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    pub listen: String,
    pub customers_url: String,
    pub lock_ttl_ms: u64,
    pub lock_wait_ms: u64,
    pub won_rule: WonRule,
    pub won_stages: Vec<String>,
    pub won_checkbox: String,
    pub order_status: String,
    pub subsidiary: String,
    pub carry_addresses: bool,
    pub updatable_statuses: Vec<String>,
    /// Opportunity field → sales order body field.
    pub fields: BTreeMap<String, String>,
    pub renewals: RenewalsConfig,
    /// Tax codes on order lines (`orders.tax`; off unless a rule or a default is set).
    #[serde(default)]
    pub tax: super::TaxCodes,
    /// Units of measure on order lines (`orders.units`).
    #[serde(default)]
    pub units: super::LineUnits,
    /// A won Opportunity whose synced quote is an estimate in NetSuite becomes its order by
    /// NetSuite's estimate → sales order transform (reads `Opportunity.SyncedQuoteId`, which
    /// exists only where Quotes are enabled in the org).
    pub orders_from_quotes: bool,
}

impl OrdersConfig {
    pub fn lock_ttl(&self) -> Duration {
        Duration::from_millis(self.lock_ttl_ms)
    }
    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinanceConfig {
    pub listen: String,
    pub lock_ttl_ms: u64,
    pub lock_wait_ms: u64,
    /// Where an account's financial summary is read: SuiteQL, or the package's RESTlet.
    pub summary_source: SummarySource,
    pub summary_restlet_script: String,
    pub summary_restlet_deploy: String,
    /// Account numbers whose GL balances by period go to `NetSuite_GL_Balance__c`.
    pub gl_accounts: Vec<String>,
}

/// Where the financial summary comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    /// Two SuiteQL reads (credit limit; the customer's receivables).
    Suiteql,
    /// One call of the summary RESTlet the NetSuite package ships.
    Restlet,
}

impl FinanceConfig {
    /// `gl_accounts`: account numbers (letters, digits, `-`, `.`, `_`; at most 60), none twice.
    pub fn validate_gl_accounts(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for number in &self.gl_accounts {
            let valid = !number.is_empty()
                && number.len() <= 60
                && number
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !valid {
                return Err(format!(
                    "finance.gl_accounts: {number:?} is not an account number (letters, digits, '-', '.', '_')"
                ));
            }
            if !seen.insert(number) {
                return Err(format!("finance.gl_accounts lists {number:?} twice"));
            }
        }
        Ok(())
    }

    pub fn lock_ttl(&self) -> Duration {
        Duration::from_millis(self.lock_ttl_ms)
    }
    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalsConfig {
    pub enabled: bool,
    pub window_days: u32,
    pub stage: String,
    pub opportunity_type: String,
    pub name_suffix: String,
    pub link_field: String,
    /// Cron expression of the scheduled scan; empty: none.
    pub schedule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub listen: String,
    pub customers_url: String,
    pub catalog_url: String,
    pub orders_url: String,
    pub finance_url: String,
    pub max_body_bytes: usize,
    pub sync_deadline_ms: u64,
    pub idempotency_ttl_s: u64,
    pub api_keys_file: String,
    /// File holding the shared secret NetSuite scripts sign events with (HMAC-SHA256).
    pub netsuite_hmac_secret_file: String,
    /// How far an event's signed timestamp may be from now, either way, in seconds.
    pub netsuite_hmac_window_s: u64,
    /// Accept NetSuite events without a signature when no signing secret is set (outside
    /// `isthmus dev` the gateway otherwise refuses to start without one). Loudly warned.
    pub netsuite_events_unsigned: bool,
    /// Also accept `v1=` signatures (timestamp and body only, not method, path or query), while
    /// a NetSuite account still runs the old script.
    pub netsuite_hmac_accept_v1: bool,
    /// Where the operations console is served: "" on `listen` at `/console`, "off" nowhere,
    /// else a listener of its own (`host:port`).
    pub console_listen: String,
    /// How long a console session lasts after sign-in, in seconds.
    pub console_session_ttl_s: u64,
    /// Mark the console's session cookie `Secure` (always when the request came over https).
    pub console_secure_cookie: bool,
    /// File holding the key console sessions are signed with.
    pub console_session_secret_file: String,
    /// The org's Lightning URL, for "open in Salesforce" links ("" = `salesforce.login_url`).
    pub salesforce_app_url: String,
    /// The NetSuite UI's URL, for "open in NetSuite" links ("" = from `netsuite.account_id`).
    pub netsuite_app_url: String,
    /// A request's headers must arrive within this long of the connection (or the previous
    /// answer), else the connection is closed.
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout_ms: u64,
    /// A request's body must arrive whole within this long of its headers (`408` otherwise).
    pub body_read_timeout_ms: u64,
    /// A whole request, answer included, must finish within this long (`408` otherwise); longer
    /// than `sync_deadline_ms`.
    pub request_timeout_ms: u64,
    /// Connections served at once; the cap is lowered below the process's file-descriptor
    /// limit (RLIMIT_NOFILE) when that is smaller.
    pub max_connections: usize,
    /// Requests handled at once; more are answered `503` at once (health probes excepted).
    pub max_in_flight: usize,
    /// Longest request URI (path and query) accepted, in bytes (`414` beyond).
    pub max_uri_bytes: usize,
    /// TLS on `listen` (and the console's own listener): the PEM certificate chain and key
    /// files; both empty serves plain HTTP.
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// How often the certificate files are checked for a change (then reloaded, no restart).
    pub tls_reload_ms: u64,
    /// The share of the daily Salesforce API allocation one Salesforce-scoped key may spend
    /// through the gateway, over a rolling 24 hours.
    pub salesforce_key_share: f64,
    /// The daily Salesforce API allocation assumed until the org's own is known (`/limits`).
    pub salesforce_daily_allocation: u64,
    /// Per-key request rate and burst (a token bucket per key), by the key's scope.
    pub rate_limits: RateLimitsConfig,
}

/// Token buckets of `[gateway.rate_limits]`: one per scope; a key with several scopes gets the
/// most generous of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    pub salesforce: RateLimit,
    pub netsuite: RateLimit,
    pub viewer: RateLimit,
    pub admin: RateLimit,
}

/// Requests per second a key earns, and how many it may spend at once.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: u32,
}

/// How the services admit gRPC calls, and what this process presents when it calls one.
/// The tokens themselves are secrets (`ISTHMUS_GRPC__TOKENS`, `ISTHMUS_GRPC__TOKEN` or their
/// `*_file` keys); certificates and keys are files (a mounted Kubernetes Secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// File of the bearer tokens the services accept (`name:scope+scope:token,…`).
    pub tokens_file: String,
    /// File of the token this process presents to the services it calls.
    pub token_file: String,
    /// The services' TLS certificate chain (PEM); "" serves plaintext.
    pub tls_cert_file: String,
    /// The private key (PEM) of `tls_cert_file`.
    pub tls_key_file: String,
    /// CA (PEM) client certificates are verified against (mTLS); "" takes no certificates.
    pub client_ca_file: String,
    /// mTLS callers: a DNS name of a client certificate's subjectAltName → its scopes.
    pub callers: BTreeMap<String, Vec<String>>,
    /// CA (PEM) this process verifies the services' certificates with (`https://` URLs).
    pub ca_file: String,
    /// The client certificate (PEM) this process presents for mTLS, and its key.
    pub client_cert_file: String,
    pub client_key_file: String,
    /// Serve every RPC to anyone when no credential is configured (an explicit opt-out, e.g.
    /// behind a service mesh that authenticates); false: such a service refuses to start.
    pub allow_unauthenticated: bool,
}

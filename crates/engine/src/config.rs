//! Configuration: documented defaults compiled in (`config.default.toml`), then an optional TOML
//! file, then `ISTHMUS_<SECTION>__<KEY>` environment variables.
//!
//! Secrets are deliberately not part of [`Config`]: [`Secrets::load`] reads each one from its
//! environment variable or from a file the config names, and a config file that tries to carry a
//! secret is refused with a message saying where it belongs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod ownership;

pub use ownership::{Ownership, ADDRESS_UNITS};

/// The compiled-in defaults, with a comment on every key.
pub const DEFAULT_CONFIG: &str = include_str!("../config.default.toml");

/// Keys that hold secrets: never accepted from the config file or as plain config values.
const SECRET_KEYS: [(&str, &str); 8] = [
    ("salesforce", "client_secret"),
    ("salesforce", "private_key"),
    ("netsuite", "consumer_secret"),
    ("netsuite", "token_secret"),
    ("netsuite", "private_key"),
    ("gateway", "api_keys"),
    ("gateway", "netsuite_hmac_secret"),
    ("alerts", "webhook_url"),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Invalid(String),
    #[error("config: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("config: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub salesforce: SalesforceSection,
    pub netsuite: NetSuiteSection,
    pub customers: CustomersConfig,
    /// ISO 4217 code → NetSuite currency internal id.
    pub currencies: BTreeMap<String, String>,
    pub catalog: CatalogConfig,
    pub orders: OrdersConfig,
    pub finance: FinanceConfig,
    pub schedules: SchedulesConfig,
    pub telemetry: TelemetryConfig,
    pub queue: QueueConfig,
    pub audit: AuditConfig,
    pub alerts: AlertsConfig,
    pub gateway: GatewayConfig,
}

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
}

impl QueueConfig {
    pub fn retry_policy(&self) -> crate::work::RetryPolicy {
        crate::work::RetryPolicy {
            retryable_attempts: self.retryable_attempts.max(1),
            permanent_attempts: self.permanent_attempts.max(1),
            base_delay: Duration::from_millis(self.backoff_base_ms),
            max_delay: Duration::from_millis(self.backoff_max_ms.max(self.backoff_base_ms)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub redis_url: String,
    pub connection: String,
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
    pub delta_overlap_s: u64,
    pub delta_page_size: usize,
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
    fn all(&self) -> [(&'static str, &str); 5] {
        [
            ("customers_delta", &self.customers_delta),
            ("catalog_delta", &self.catalog_delta),
            ("account_summaries", &self.account_summaries),
            ("subsidiaries", &self.subsidiaries),
            ("reconcile", &self.reconcile),
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
}

impl Config {
    /// Defaults, then `file` (when given), then `ISTHMUS_` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            reject_secrets_in_file(&text, path)?;
            figment = figment.merge(Toml::string(&text));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("ISTHMUS_") && k != "ISTHMUS_CONFIG")
            .filter(|(k, _)| !is_secret_env(k))
            .collect();
        for (key, value) in env {
            let Some(path) = env_key_to_path(&key) else {
                continue;
            };
            figment = figment.merge(Toml::string(&format!(
                "{path} = {}",
                toml_value(&path, &value)
            )));
        }
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.customers.validate_ownership()?;
        if self.customers.lock_ttl_ms < 1000 {
            return Err(ConfigError::Invalid(
                "customers.lock_ttl_ms must be at least 1000".into(),
            ));
        }
        self.validate_lead_to_cash()?;
        if !(0.0..=1.0).contains(&self.salesforce.batch_share) {
            return Err(ConfigError::Invalid(
                "salesforce.batch_share must be between 0 and 1".into(),
            ));
        }
        if self.netsuite.concurrency_limit == 0 {
            return Err(ConfigError::Invalid(
                "netsuite.concurrency_limit must be at least 1".into(),
            ));
        }
        if self.gateway.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "gateway.max_body_bytes must be > 0".into(),
            ));
        }
        if !self
            .store
            .connection
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || self.store.connection.is_empty()
        {
            return Err(ConfigError::Invalid(
                "store.connection must be letters, digits, '_' or '-'".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Field names go into SOQL select lists and NetSuite bodies: API names only.
    fn validate_lead_to_cash(&self) -> Result<(), ConfigError> {
        let api_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 80
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        for (sf, ns) in &self.orders.fields {
            if !api_name(sf) || !api_name(ns) {
                return Err(ConfigError::Invalid(format!(
                    "orders.fields: {sf:?} = {ns:?} must both be API names (letters, digits, '_')"
                )));
            }
        }
        if !api_name(&self.orders.won_checkbox) || !api_name(&self.orders.renewals.link_field) {
            return Err(ConfigError::Invalid(
                "orders.won_checkbox and orders.renewals.link_field must be API names".into(),
            ));
        }
        for (iso, id) in &self.currencies {
            if iso.len() != 3 || !iso.bytes().all(|b| b.is_ascii_uppercase()) || !digits(id) {
                return Err(ConfigError::Invalid(format!(
                    "currencies: {iso:?} = {id:?}: ISO code (3 capitals) = NetSuite internal id"
                )));
            }
        }
        let levels = self.catalog.price_books.keys().map(String::as_str);
        for level in levels.chain([self.catalog.standard_price_level.as_str()]) {
            if !digits(level) {
                return Err(ConfigError::Invalid(format!(
                    "catalog price level {level:?} must be a NetSuite internal id"
                )));
            }
        }
        if !self.catalog.item_types.iter().all(|t| api_name(t)) {
            return Err(ConfigError::Invalid(
                "catalog.item_types must be SuiteQL item types such as InvtPart".into(),
            ));
        }
        if self.catalog.batch_size == 0 || self.catalog.batch_size > 200 {
            return Err(ConfigError::Invalid(
                "catalog.batch_size must be between 1 and 200".into(),
            ));
        }
        let renewals = &self.orders.renewals.schedule;
        if !renewals.is_empty() {
            crate::schedule::Schedule::parse(renewals)
                .map_err(|e| ConfigError::Invalid(format!("orders.renewals.schedule: {e}")))?;
        }
        for (name, expression) in self.schedules.all() {
            SchedulesConfig::parse(expression)
                .map_err(|e| ConfigError::Invalid(format!("schedules.{name}: {e}")))?;
        }
        if !(1..=1000).contains(&self.schedules.delta_page_size) {
            return Err(ConfigError::Invalid(
                "schedules.delta_page_size must be between 1 and 1000".into(),
            ));
        }
        if !self.orders.subsidiary.is_empty() && !digits(&self.orders.subsidiary) {
            return Err(ConfigError::Invalid(
                "orders.subsidiary must be empty or a NetSuite internal id".into(),
            ));
        }
        Ok(())
    }
}

/// The ISO code of a NetSuite currency id, from `[currencies]` (ISO code → NetSuite id).
pub fn iso_currency(currencies: &BTreeMap<String, String>, netsuite_id: &str) -> Option<String> {
    currencies
        .iter()
        .find(|(_, id)| id.as_str() == netsuite_id)
        .map(|(iso, _)| iso.clone())
}

/// `ISTHMUS_GATEWAY__LISTEN` → `gateway.listen` (lower case; `__` separates levels).
fn env_key_to_path(key: &str) -> Option<String> {
    let rest = key.strip_prefix("ISTHMUS_")?;
    let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return None;
    }
    Some(parts.join("."))
}

/// An environment value as a TOML value for the key at `path`: a key whose default is a string
/// takes the value as a string (an account id `1234567` stays text); otherwise arrays, booleans
/// and numbers as written, anything else a string.
fn toml_value(path: &str, raw: &str) -> String {
    let string_key = default_value(path).is_some_and(|v| v.is_str());
    let trimmed = raw.trim();
    let parses = |s: &str| toml::from_str::<toml::Table>(&format!("v = {s}")).is_ok();
    let looks_typed = trimmed.starts_with('[')
        || trimmed == "true"
        || trimmed == "false"
        || trimmed.parse::<i64>().is_ok()
        || trimmed.parse::<f64>().is_ok_and(f64::is_finite);
    if !string_key && looks_typed && parses(trimmed) {
        trimmed.to_string()
    } else {
        toml::Value::String(raw.to_string()).to_string()
    }
}

/// The compiled-in default at a dotted path, if there is one.
fn default_value(path: &str) -> Option<toml::Value> {
    let mut value = toml::Value::Table(toml::from_str(DEFAULT_CONFIG).ok()?);
    for part in path.split('.') {
        value = value.as_table()?.get(part)?.clone();
    }
    Some(value)
}

fn is_secret_env(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|(section, name)| key.eq_ignore_ascii_case(&secret_env_name(section, name)))
}

fn secret_env_name(section: &str, key: &str) -> String {
    format!(
        "ISTHMUS_{}__{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

fn reject_secrets_in_file(text: &str, path: &Path) -> Result<(), ConfigError> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
    for (section, key) in SECRET_KEYS {
        let present = table
            .get(section)
            .and_then(|s| s.as_table())
            .is_some_and(|s| s.contains_key(key));
        if present {
            return Err(ConfigError::Invalid(format!(
                "{}: `{section}.{key}` is a secret and is not read from the config file; set {} \
                 or name a file with `{section}.{key}_file`",
                path.display(),
                secret_env_name(section, key)
            )));
        }
    }
    Ok(())
}

/// Every secret Isthmus uses, resolved from the environment or from files.
#[derive(Clone, Default)]
pub struct Secrets {
    pub salesforce_client_secret: Option<SecretString>,
    pub salesforce_private_key: Option<SecretString>,
    pub netsuite_consumer_secret: Option<SecretString>,
    pub netsuite_token_secret: Option<SecretString>,
    pub netsuite_private_key: Option<SecretString>,
    pub gateway_api_keys: Option<SecretString>,
    /// The shared secret NetSuite events are signed with; when set, unsigned events are refused.
    pub netsuite_hmac_secret: Option<SecretString>,
    pub alerts_webhook_url: Option<SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "[set]" } else { "[unset]" };
        f.debug_struct("Secrets")
            .field(
                "salesforce_client_secret",
                &set(&self.salesforce_client_secret),
            )
            .field(
                "netsuite_consumer_secret",
                &set(&self.netsuite_consumer_secret),
            )
            .field("netsuite_token_secret", &set(&self.netsuite_token_secret))
            .field("salesforce_private_key", &set(&self.salesforce_private_key))
            .field("netsuite_private_key", &set(&self.netsuite_private_key))
            .field("gateway_api_keys", &set(&self.gateway_api_keys))
            .field("netsuite_hmac_secret", &set(&self.netsuite_hmac_secret))
            .field("alerts_webhook_url", &set(&self.alerts_webhook_url))
            .finish()
    }
}

impl Secrets {
    /// Reads each secret from `ISTHMUS_<SECTION>__<KEY>` or else from the `*_file` the config names.
    pub fn load(config: &Config) -> Result<Self, ConfigError> {
        let one =
            |section: &str, key: &str, file: &str| -> Result<Option<SecretString>, ConfigError> {
                if let Ok(value) = std::env::var(secret_env_name(section, key)) {
                    if !value.is_empty() {
                        return Ok(Some(SecretString::from(value)));
                    }
                }
                if file.is_empty() {
                    return Ok(None);
                }
                let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                    path: file.to_string(),
                    source,
                })?;
                Ok(Some(SecretString::from(
                    text.trim_end_matches(['\n', '\r']).to_string(),
                )))
            };
        Ok(Self {
            salesforce_client_secret: one(
                "salesforce",
                "client_secret",
                &config.salesforce.client_secret_file,
            )?,
            netsuite_consumer_secret: one(
                "netsuite",
                "consumer_secret",
                &config.netsuite.consumer_secret_file,
            )?,
            netsuite_token_secret: one(
                "netsuite",
                "token_secret",
                &config.netsuite.token_secret_file,
            )?,
            salesforce_private_key: one(
                "salesforce",
                "private_key",
                &config.salesforce.private_key_file,
            )?,
            netsuite_private_key: one(
                "netsuite",
                "private_key",
                &config.netsuite.private_key_file,
            )?,
            gateway_api_keys: one("gateway", "api_keys", &config.gateway.api_keys_file)?,
            netsuite_hmac_secret: one(
                "gateway",
                "netsuite_hmac_secret",
                &config.gateway.netsuite_hmac_secret_file,
            )?,
            alerts_webhook_url: one("alerts", "webhook_url", &config.alerts.webhook_url_file)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_and_validate() {
        let config = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.salesforce.api_version, "61.0");
        assert_eq!(config.customers.fields["name"].netsuite, "companyName");
        assert_eq!(config.customers.matching[0], MatchRule::ExternalId);
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("isthmus.toml");
        std::fs::write(
            &path,
            "[gateway]\nlisten = \"127.0.0.1:9000\"\nsync_deadline_ms = 5000\n",
        )
        .unwrap();
        let config = Config::load_from(
            Some(&path),
            env(&[
                ("ISTHMUS_GATEWAY__SYNC_DEADLINE_MS", "7000"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.gateway.listen, "127.0.0.1:9000");
        assert_eq!(config.gateway.sync_deadline_ms, 7000);
    }

    #[test]
    fn env_arrays_and_strings_parse() {
        let config = Config::load_from(
            None,
            env(&[
                ("ISTHMUS_CUSTOMERS__MATCHING", "[\"company_name\"]"),
                ("ISTHMUS_NETSUITE__ACCOUNT_ID", "123456_SB1"),
                ("ISTHMUS_NETSUITE__CONSUMER_KEY", "[not toml"),
                ("ISTHMUS_NETSUITE__TOKEN_ID", "1234567"),
            ]),
        )
        .unwrap();
        assert_eq!(config.customers.matching, vec![MatchRule::CompanyName]);
        assert_eq!(config.netsuite.account_id, "123456_SB1");
        assert_eq!(config.netsuite.consumer_key, "[not toml");
        assert_eq!(
            config.netsuite.token_id, "1234567",
            "digits stay text for a text key"
        );
        let config =
            Config::load_from(None, env(&[("ISTHMUS_SALESFORCE__BATCH_SHARE", "0.5")])).unwrap();
        assert_eq!(config.salesforce.batch_share, 0.5);
    }

    #[test]
    fn a_secret_in_the_file_is_refused_with_directions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("isthmus.toml");
        std::fs::write(&path, "[netsuite]\ntoken_secret = \"abc\"\n").unwrap();
        let err = Config::load_from(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ISTHMUS_NETSUITE__TOKEN_SECRET"), "{err}");
        assert!(!err.contains("abc"), "the secret must not be echoed: {err}");
    }

    #[test]
    fn secret_env_vars_never_become_config_values() {
        let config = Config::load_from(
            None,
            env(&[("ISTHMUS_SALESFORCE__CLIENT_SECRET", "hunter2")]),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn ownership_defaults_to_latest_and_takes_per_field_overrides_from_env() {
        let config = Config::load_from(
            None,
            env(&[
                ("ISTHMUS_CUSTOMERS__OWNERSHIP__NAME", "netsuite"),
                ("ISTHMUS_CUSTOMERS__OWNERSHIP__BILLING", "manual"),
            ]),
        )
        .unwrap()
        .customers;
        assert_eq!(config.ownership_of("name"), Ownership::Netsuite);
        assert_eq!(config.ownership_of("billing"), Ownership::Manual);
        assert_eq!(config.ownership_of("phone"), Ownership::Latest);
    }

    #[test]
    fn ownership_of_an_unmapped_field_is_refused() {
        let err = Config::load_from(
            None,
            env(&[("ISTHMUS_CUSTOMERS__OWNERSHIP__FAX", "manual")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("customers.ownership.fax"), "{err}");
        let err = Config::load_from(None, env(&[("ISTHMUS_CUSTOMERS__OWNERSHIP__NAME", "mine")]))
            .unwrap_err();
        assert!(err.to_string().contains("mine"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::load_from(None, env(&[("ISTHMUS_GATEWAY__LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn secrets_debug_is_redacted() {
        let secrets = Secrets {
            salesforce_client_secret: Some(SecretString::from("hunter2".to_string())),
            ..Default::default()
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("hunter2") && shown.contains("[set]"));
    }
}

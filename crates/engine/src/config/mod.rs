//! Configuration: documented defaults compiled in (`config.default.toml`), then an optional TOML
//! file, then `ISTHMUS_<SECTION>__<KEY>` environment variables.
//!
//! Secrets are deliberately not part of [`Config`]: [`Secrets::load`] reads each one from its
//! environment variable or from a file the config names, and a config file that tries to carry a
//! secret is refused with a message saying where it belongs.
//!
//! Where each part lives:
//! - here: [`Config`] itself, [`DEFAULT_CONFIG`], [`ConfigError`], and the checks a loaded
//!   config must pass;
//! - `sections`: one struct per `[section]` of the file, with the enums its keys take;
//! - `load`: defaults → file → environment, and how an `ISTHMUS_` variable becomes a TOML value;
//! - `secrets`: [`Secrets`], and the refusal of a secret written into the config file;
//! - `ownership`: who owns each mapped customer field (`customers.ownership`);
//! - `lifecycle`: the lead / prospect / customer stage of created customers (`customers.lifecycle`).
//! - `line_terms`: tax codes and units of measure on order lines (`orders.tax`, `orders.units`).
//!
//! Every public name is re-exported here, so callers keep using `config::X`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod lifecycle;
mod line_terms;
mod load;
mod ownership;
mod privacy;
mod secrets;
mod sections;

pub use lifecycle::{Lifecycle, Stage, StageStatuses};
pub use line_terms::{LineUnits, TaxCodes};
pub use ownership::{Ownership, ADDRESS_UNITS};
pub use ownership::{DO_NOT_CALL, EMAIL_OPT_OUT};
pub use privacy::{ErasureMode, ErasureModes, LegalHold, PrivacyConfig};
pub use secrets::Secrets;
pub use sections::ConsentConfig;
pub use sections::{
    AccountDeleted, AlertsConfig, AuditConfig, CatalogConfig, CustomersConfig, DeltaAccounts,
    FieldPair, FinanceConfig, GatewayConfig, GrpcConfig, LogFormat, MatchRule, NetSuiteAuthKind,
    NetSuiteSection, OrdersConfig, QueueConfig, RateLimit, RateLimitsConfig, RenewalsConfig,
    SalesforceAuthKind, SalesforceSection, SchedulesConfig, StoreConfig, SummarySource,
    TelemetryConfig, WonRule,
};

/// The compiled-in defaults, with a comment on every key.
pub const DEFAULT_CONFIG: &str = include_str!("../../config.default.toml");

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
    pub grpc: GrpcConfig,
}

impl Config {
    /// No schedule fires (every `schedules.*` and the renewal scan's expression cleared): for a
    /// test or a benchmark in which only what it does itself may call the vendors.
    pub fn clear_schedules(&mut self) {
        let s = &mut self.schedules;
        for expression in [
            &mut s.customers_delta,
            &mut s.catalog_delta,
            &mut s.account_summaries,
            &mut s.subsidiaries,
            &mut s.reconcile,
            &mut s.doctor,
            &mut s.aging,
            &mut s.gl_balances,
        ] {
            expression.clear();
        }
        self.orders.renewals.schedule.clear();
    }

    /// The configuration as `isthmus config` prints it: a password inside `store.redis_url`
    /// replaced by `***` (the URL may carry one; every other secret is never a config value).
    pub fn shown(&self) -> Self {
        let mut shown = self.clone();
        shown.store.redis_url = without_password(&self.store.redis_url);
        shown
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.customers.validate_ownership()?;
        self.customers.privacy.validate()?;
        if self.customers.lock_ttl_ms < 1000 {
            return Err(ConfigError::Invalid(
                "customers.lock_ttl_ms must be at least 1000".into(),
            ));
        }
        self.validate_lead_to_cash()?;
        self.finance
            .validate_gl_accounts()
            .map_err(ConfigError::Invalid)?;
        if !(0.0..=1.0).contains(&self.salesforce.batch_share) {
            return Err(ConfigError::Invalid(
                "salesforce.batch_share must be between 0 and 1".into(),
            ));
        }
        if self.netsuite.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "netsuite.time_zone {:?} is not an IANA time zone (e.g. America/Los_Angeles)",
                self.netsuite.time_zone
            )));
        }
        if self.netsuite.concurrency_limit == 0 {
            return Err(ConfigError::Invalid(
                "netsuite.concurrency_limit must be at least 1".into(),
            ));
        }
        if !(self.netsuite.adaptive_decrease > 0.0 && self.netsuite.adaptive_decrease < 1.0) {
            return Err(ConfigError::Invalid(
                "netsuite.adaptive_decrease must be between 0 and 1 (exclusive)".into(),
            ));
        }
        if self.netsuite.adaptive_climb_rounds == 0 {
            return Err(ConfigError::Invalid(
                "netsuite.adaptive_climb_rounds must be at least 1".into(),
            ));
        }
        if self.netsuite.adaptive_probe_ms == 0
            || self.netsuite.adaptive_probe_max_ms < self.netsuite.adaptive_probe_ms
        {
            return Err(ConfigError::Invalid(
                "netsuite.adaptive_probe_ms must be at least 1 and adaptive_probe_max_ms at least adaptive_probe_ms"
                    .into(),
            ));
        }
        if self.gateway.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "gateway.max_body_bytes must be > 0".into(),
            ));
        }
        self.validate_gateway_limits()?;
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
    /// The server limits of `[gateway]`: each must leave the gateway able to answer.
    fn validate_gateway_limits(&self) -> Result<(), ConfigError> {
        let g = &self.gateway;
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("gateway.{m}")));
        if g.request_timeout_ms <= g.sync_deadline_ms {
            return invalid("request_timeout_ms must be longer than sync_deadline_ms");
        }
        if [
            g.header_read_timeout_ms,
            g.idle_timeout_ms,
            g.body_read_timeout_ms,
        ]
        .contains(&0)
        {
            return invalid(
                "header_read_timeout_ms, idle_timeout_ms and body_read_timeout_ms must be > 0",
            );
        }
        if g.max_connections == 0 || g.max_in_flight == 0 || g.max_uri_bytes < 256 {
            return invalid("max_connections and max_in_flight must be > 0, max_uri_bytes >= 256");
        }
        if g.tls_cert_file.is_empty() != g.tls_key_file.is_empty() {
            return invalid("tls_cert_file and tls_key_file are set together or not at all");
        }
        if !(0.0..=1.0).contains(&g.salesforce_key_share) || g.salesforce_daily_allocation == 0 {
            return invalid(
                "salesforce_key_share must be between 0 and 1, salesforce_daily_allocation > 0",
            );
        }
        let r = &g.rate_limits;
        for (scope, limit) in [
            ("salesforce", r.salesforce),
            ("netsuite", r.netsuite),
            ("viewer", r.viewer),
            ("admin", r.admin),
        ] {
            if !(limit.rate.is_finite() && limit.rate > 0.0) || limit.burst == 0 {
                return invalid(&format!(
                    "rate_limits.{scope} needs rate > 0 and burst >= 1"
                ));
            }
        }
        Ok(())
    }

    /// Field names go into SOQL select lists and NetSuite bodies: API names only.
    fn validate_lead_to_cash(&self) -> Result<(), ConfigError> {
        let api_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 80
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let digits = isthmus_netsuite::NetSuiteId::is_valid;
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
        let matching = &self.catalog.product_match_field;
        if !matching.is_empty()
            && (!api_name(matching)
                || !matching.starts_with(|c: char| c.is_ascii_alphabetic())
                || matching.eq_ignore_ascii_case("NetSuite_Id__c")
                || matching.eq_ignore_ascii_case("Id"))
        {
            return Err(ConfigError::Invalid(format!(
                "catalog.product_match_field {matching:?} must be the API name of a Product2 text \
                 field such as ProductCode (letters, digits, '_'; not Id or NetSuite_Id__c), or \
                 \"\" to turn matching off"
            )));
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
        self.orders.tax.validate()?;
        self.orders.units.validate()?;
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

/// `(key, value)` pairs as the environment [`Config::load_from`] takes (tests).
/// `url` with the password of its user info (`scheme://user:password@host…`) as `***`; a user
/// info without a `:` is all password for Redis (`redis://secret@host`), so it goes too.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_string(),
    };
    format!("{scheme}://{user}@{host}{path}")
}

#[cfg(test)]
fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_redis_url_is_never_shown() {
        for (url, shown) in [
            ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
            (
                "rediss://isthmus:hunter2@redis.internal:6380",
                "rediss://isthmus:***@redis.internal:6380",
            ),
            ("redis://hunter2@redis", "redis://***@redis"),
            (
                "redis+sentinel://isthmus:hunter2@s1:26379,s2:26379/mymaster",
                "redis+sentinel://isthmus:***@s1:26379,s2:26379/mymaster",
            ),
            (
                "rediss+cluster://isthmus:hunter2@n1:6379,n2:6379",
                "rediss+cluster://isthmus:***@n1:6379,n2:6379",
            ),
            ("redis://redis:6379", "redis://redis:6379"),
            ("", ""),
        ] {
            assert_eq!(without_password(url), shown);
        }
        let mut config = Config::load_from(None, Vec::new()).unwrap();
        config.store.redis_url = "redis://:hunter2@redis:6379".into();
        let printed = toml::to_string_pretty(&config.shown()).unwrap();
        assert!(
            !printed.contains("hunter2") && printed.contains(":***@"),
            "{printed}"
        );
    }

    #[test]
    fn the_product_match_field_is_an_api_name_or_empty() {
        let config = Config::load_from(None, Vec::new()).unwrap();
        assert_eq!(config.catalog.product_match_field, "ProductCode");
        for value in ["", "StockKeepingUnit", "Legacy_Code__c"] {
            let key = "ISTHMUS_CATALOG__PRODUCT_MATCH_FIELD";
            let config = Config::load_from(None, env(&[(key, value)])).unwrap();
            assert_eq!(config.catalog.product_match_field, value);
        }
        for value in [
            "Product Code",
            "Code' OR Id != null",
            "NetSuite_Id__c",
            "Id",
            "1Code",
        ] {
            let key = "ISTHMUS_CATALOG__PRODUCT_MATCH_FIELD";
            let err = Config::load_from(None, env(&[(key, value)])).unwrap_err();
            assert!(
                err.to_string().contains("catalog.product_match_field"),
                "{value}: {err}"
            );
        }
    }
}

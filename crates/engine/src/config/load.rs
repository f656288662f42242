//! Loading: the compiled-in defaults, then an optional TOML file, then `ISTHMUS_<SECTION>__<KEY>`
//! environment variables, and how an environment value is coerced to the TOML type of its key.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::Figment;

use super::secrets::{is_secret_env, reject_secrets_in_file};
use super::{Config, ConfigError, DEFAULT_CONFIG};

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

#[cfg(test)]
mod tests {
    use crate::config::{env, Config, MatchRule};

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
    fn gateway_limits_take_nested_env_keys_and_refuse_unsafe_values() {
        let config = Config::load_from(
            None,
            env(&[
                ("ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__RATE", "2"),
                ("ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__BURST", "7"),
                ("ISTHMUS_GATEWAY__SALESFORCE_KEY_SHARE", "0.25"),
            ]),
        )
        .unwrap();
        assert_eq!(config.gateway.rate_limits.salesforce.rate, 2.0);
        assert_eq!(config.gateway.rate_limits.salesforce.burst, 7);
        assert_eq!(config.gateway.salesforce_key_share, 0.25);
        for (key, value) in [
            // A request timeout inside the sync deadline would cut every slow sync off.
            ("ISTHMUS_GATEWAY__REQUEST_TIMEOUT_MS", "8000"),
            ("ISTHMUS_GATEWAY__SALESFORCE_KEY_SHARE", "1.5"),
            ("ISTHMUS_GATEWAY__RATE_LIMITS__ADMIN__BURST", "0"),
            ("ISTHMUS_GATEWAY__TLS_CERT_FILE", "/etc/tls/tls.crt"),
            ("ISTHMUS_GATEWAY__MAX_IN_FLIGHT", "0"),
        ] {
            let err = Config::load_from(None, env(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains("gateway."), "{key}: {err}");
        }
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
    fn unknown_keys_are_rejected() {
        let err = Config::load_from(None, env(&[("ISTHMUS_GATEWAY__LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}

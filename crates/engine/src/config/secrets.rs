//! Secrets: [`Secrets`] reads each one from its environment variable or from a file the config
//! names; a config file that carries a secret is refused, saying where the secret belongs.

use std::path::Path;

use secrecy::SecretString;

use super::{Config, ConfigError};

/// Keys that hold secrets: never accepted from the config file or as plain config values.
const SECRET_KEYS: [(&str, &str); 11] = [
    ("salesforce", "client_secret"),
    ("salesforce", "private_key"),
    ("netsuite", "consumer_secret"),
    ("netsuite", "token_secret"),
    ("netsuite", "private_key"),
    ("gateway", "api_keys"),
    ("gateway", "netsuite_hmac_secret"),
    ("gateway", "console_session_secret"),
    ("alerts", "webhook_url"),
    ("grpc", "tokens"),
    ("grpc", "token"),
];

pub(super) fn is_secret_env(key: &str) -> bool {
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

pub(super) fn reject_secrets_in_file(text: &str, path: &Path) -> Result<(), ConfigError> {
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
    /// The key console session cookies are signed with; unset: a random one per start.
    pub console_session_secret: Option<SecretString>,
    pub alerts_webhook_url: Option<SecretString>,
    /// The bearer tokens the services accept (`name:scope+scope:token,…`).
    pub grpc_tokens: Option<SecretString>,
    /// The token this process presents when it calls a service.
    pub grpc_token: Option<SecretString>,
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
            .field("console_session_secret", &set(&self.console_session_secret))
            .field("alerts_webhook_url", &set(&self.alerts_webhook_url))
            .field("grpc_tokens", &set(&self.grpc_tokens))
            .field("grpc_token", &set(&self.grpc_token))
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
            console_session_secret: one(
                "gateway",
                "console_session_secret",
                &config.gateway.console_session_secret_file,
            )?,
            alerts_webhook_url: one("alerts", "webhook_url", &config.alerts.webhook_url_file)?,
            grpc_tokens: one("grpc", "tokens", &config.grpc.tokens_file)?,
            grpc_token: one("grpc", "token", &config.grpc.token_file)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env;

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
    fn secrets_debug_is_redacted() {
        let secrets = Secrets {
            salesforce_client_secret: Some(SecretString::from("hunter2".to_string())),
            ..Default::default()
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("hunter2") && shown.contains("[set]"));
    }
}

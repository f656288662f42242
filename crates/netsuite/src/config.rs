use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use crate::retry::ConcurrencyRetry;
use crate::JwtAlgorithm;

/// How to reach one NetSuite account.
#[derive(Clone)]
pub struct NetSuiteConfig {
    /// `"1234567"` or `"123456_SB1"`; the OAuth realm keeps exactly this form.
    pub account_id: String,
    /// Origin override (a sandbox or a test server), e.g. `http://127.0.0.1:8080`. The default is
    /// `https://{account id in lower case, _ as -}.suitetalk.api.netsuite.com`.
    pub base_url: Option<String>,
    /// RESTlet origin override. The default is
    /// `https://{account id in lower case, _ as -}.restlets.api.netsuite.com`.
    pub restlet_base_url: Option<String>,
    /// How requests are authenticated.
    pub auth: NetSuiteAuth,
    /// Timeout of each HTTP request.
    pub timeout: Duration,
    /// How calls refused for the account's concurrency limit are retried.
    pub concurrency_retry: ConcurrencyRetry,
    /// The account's time zone (Setup > Company > General Preferences; a user's own preference
    /// overrides it for that user): SuiteQL compares and formats datetimes in it, so a delta's
    /// `TO_TIMESTAMP` literals and `TO_CHAR` answers are wall-clock times of this zone.
    pub time_zone: chrono_tz::Tz,
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum NetSuiteAuth {
    /// Every request signed with the integration record's consumer key and an access token.
    Tba {
        consumer_key: String,
        consumer_secret: SecretString,
        token_id: String,
        token_secret: SecretString,
    },
    /// OAuth 2.0 client credentials (M2M): a bearer token obtained with a JWT assertion signed by
    /// the private key of the certificate uploaded for the integration.
    OAuth2 {
        /// The integration record's client id.
        client_id: String,
        /// The certificate id NetSuite shows for the uploaded certificate (the JWT `kid`).
        certificate_id: String,
        /// The certificate's private key, PEM (PKCS#8, or PKCS#1 for RSA).
        private_key_pem: SecretString,
        /// PS256 for RSA keys, ES256 for EC P-256 keys.
        algorithm: JwtAlgorithm,
        /// `rest_webservices`, `restlets`, `suite_analytics`.
        scopes: Vec<String>,
    },
}

impl NetSuiteAuth {
    /// The scopes a REST and RESTlet integration needs.
    pub fn default_scopes() -> Vec<String> {
        vec!["rest_webservices".to_owned(), "restlets".to_owned()]
    }
}

impl NetSuiteConfig {
    /// A configuration with the documented defaults: NetSuite's own hosts, a 30 s timeout and the
    /// default [`ConcurrencyRetry`].
    pub fn new(account_id: impl Into<String>, auth: NetSuiteAuth) -> Self {
        Self {
            account_id: account_id.into(),
            base_url: None,
            restlet_base_url: None,
            auth,
            timeout: Duration::from_secs(30),
            concurrency_retry: ConcurrencyRetry::default(),
            time_zone: chrono_tz::Tz::UTC,
        }
    }

    /// The origin record API and SuiteQL requests go to, without a trailing slash.
    pub fn origin(&self) -> String {
        self.origin_for(&self.base_url, "suitetalk")
    }

    /// The origin RESTlet requests go to, without a trailing slash.
    pub fn restlet_origin(&self) -> String {
        self.origin_for(&self.restlet_base_url, "restlets")
    }

    fn origin_for(&self, configured: &Option<String>, service: &str) -> String {
        match configured {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!(
                "https://{}.{service}.api.netsuite.com",
                self.account_id.to_ascii_lowercase().replace('_', "-")
            ),
        }
    }
}

impl fmt::Debug for NetSuiteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetSuiteConfig")
            .field("account_id", &self.account_id)
            .field("base_url", &self.base_url)
            .field("restlet_base_url", &self.restlet_base_url)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("concurrency_retry", &self.concurrency_retry)
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

impl fmt::Debug for NetSuiteAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tba {
                consumer_key,
                token_id,
                ..
            } => f
                .debug_struct("Tba")
                .field("consumer_key", consumer_key)
                .field("consumer_secret", &"[REDACTED]")
                .field("token_id", token_id)
                .field("token_secret", &"[REDACTED]")
                .finish(),
            Self::OAuth2 {
                client_id,
                certificate_id,
                algorithm,
                scopes,
                ..
            } => f
                .debug_struct("OAuth2")
                .field("client_id", client_id)
                .field("certificate_id", certificate_id)
                .field("private_key_pem", &"[REDACTED]")
                .field("algorithm", algorithm)
                .field("scopes", scopes)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(account_id: &str) -> NetSuiteConfig {
        NetSuiteConfig::new(
            account_id,
            NetSuiteAuth::Tba {
                consumer_key: "ck".into(),
                consumer_secret: "consumer-secret-value".into(),
                token_id: "tk".into(),
                token_secret: "token-secret-value".into(),
            },
        )
    }

    #[test]
    fn default_origin_uses_lower_case_account_with_dashes() {
        assert_eq!(
            config("123456_SB1").origin(),
            "https://123456-sb1.suitetalk.api.netsuite.com"
        );
        assert_eq!(
            config("1234567").origin(),
            "https://1234567.suitetalk.api.netsuite.com"
        );
        assert_eq!(
            config("123456_SB1").restlet_origin(),
            "https://123456-sb1.restlets.api.netsuite.com"
        );
    }

    #[test]
    fn base_urls_override_the_origins() {
        let mut config = config("1234567");
        config.base_url = Some("http://127.0.0.1:9000/".into());
        config.restlet_base_url = Some("http://127.0.0.1:9001".into());
        assert_eq!(config.origin(), "http://127.0.0.1:9000");
        assert_eq!(config.restlet_origin(), "http://127.0.0.1:9001");
    }

    #[test]
    fn debug_redacts_the_private_key() {
        let config = NetSuiteConfig::new(
            "1234567",
            NetSuiteAuth::OAuth2 {
                client_id: "client".into(),
                certificate_id: "cert".into(),
                private_key_pem: "-----BEGIN PRIVATE KEY-----secret-key-body".into(),
                algorithm: JwtAlgorithm::PS256,
                scopes: NetSuiteAuth::default_scopes(),
            },
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret-key-body"), "{shown}");
        assert!(
            shown.contains("REDACTED") && shown.contains("PS256"),
            "{shown}"
        );
    }

    #[test]
    fn debug_redacts_both_secrets() {
        let shown = format!("{:?}", config("1234567"));
        assert!(!shown.contains("consumer-secret-value"), "{shown}");
        assert!(!shown.contains("token-secret-value"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}

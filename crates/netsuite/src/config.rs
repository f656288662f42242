use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach one NetSuite account with token-based authentication.
#[derive(Clone)]
pub struct NetSuiteConfig {
    /// `"1234567"` or `"123456_SB1"`; the OAuth realm keeps exactly this form.
    pub account_id: String,
    /// Origin override (a sandbox or a test server), e.g. `http://127.0.0.1:8080`. The default is
    /// `https://{account id in lower case, _ as -}.suitetalk.api.netsuite.com`.
    pub base_url: Option<String>,
    pub consumer_key: String,
    pub consumer_secret: SecretString,
    pub token_id: String,
    pub token_secret: SecretString,
    /// Timeout of each HTTP request.
    pub timeout: Duration,
}

impl NetSuiteConfig {
    /// The origin requests go to, without a trailing slash.
    pub fn origin(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!(
                "https://{}.suitetalk.api.netsuite.com",
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
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"[REDACTED]")
            .field("token_id", &self.token_id)
            .field("token_secret", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(account_id: &str) -> NetSuiteConfig {
        NetSuiteConfig {
            account_id: account_id.into(),
            base_url: None,
            consumer_key: "ck".into(),
            consumer_secret: "consumer-secret-value".into(),
            token_id: "tk".into(),
            token_secret: "token-secret-value".into(),
            timeout: Duration::from_secs(30),
        }
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
    }

    #[test]
    fn base_url_overrides_the_origin() {
        let mut config = config("1234567");
        config.base_url = Some("http://127.0.0.1:9000/".into());
        assert_eq!(config.origin(), "http://127.0.0.1:9000");
    }

    #[test]
    fn debug_redacts_both_secrets() {
        let shown = format!("{:?}", config("1234567"));
        assert!(!shown.contains("consumer-secret-value"), "{shown}");
        assert!(!shown.contains("token-secret-value"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach one Salesforce org.
#[derive(Clone)]
pub struct SalesforceConfig {
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain / sandbox base URL.
    pub login_url: String,
    /// REST API version without the `v`, e.g. `"61.0"`.
    pub api_version: String,
    /// Connected app consumer key.
    pub client_id: String,
    /// Connected app consumer secret.
    pub client_secret: SecretString,
    /// Timeout of each HTTP request (token requests included).
    pub timeout: Duration,
}

impl fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("login_url", &self.login_url)
            .field("api_version", &self.api_version)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

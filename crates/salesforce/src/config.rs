//! Connection settings. [`SalesforceAuth`] names the OAuth 2.0 flow: client credentials (a
//! connected app's key and secret) or JWT bearer (a certificate's private key and the username to
//! act as). Secrets never show in `Debug`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::SalesforceError;

/// How to reach one Salesforce org.
#[derive(Clone)]
pub struct SalesforceConfig {
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain / sandbox base URL.
    pub login_url: String,
    /// REST API version without the `v`, e.g. `"61.0"`.
    pub api_version: String,
    /// How the client obtains its access token.
    pub auth: SalesforceAuth,
    /// Timeout of each HTTP request (token requests included).
    pub timeout: Duration,
}

/// The OAuth 2.0 flow that obtains access tokens.
#[derive(Clone)]
pub enum SalesforceAuth {
    /// `grant_type=client_credentials` with the connected app's consumer key and secret.
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 assertion signed by
    /// the private key whose certificate the connected app holds.
    JwtBearer {
        /// The connected app's consumer key (`iss`).
        client_id: String,
        /// The user to act as (`sub`), pre-authorised for the app.
        username: String,
        /// RSA private key, PEM (see [`SalesforceAuth::private_key_from_file`]).
        private_key_pem: SecretString,
        /// `aud`; `None` derives it from the login URL ([`SalesforceConfig::jwt_audience`]).
        audience: Option<String>,
    },
}

impl SalesforceAuth {
    /// Reads a PEM private key from a file (a mounted Kubernetes Secret, say).
    pub fn private_key_from_file(path: &Path) -> Result<SecretString, SalesforceError> {
        std::fs::read_to_string(path)
            .map(SecretString::from)
            .map_err(|e| {
                SalesforceError::Config(format!("private key file {}: {e}", path.display()))
            })
    }
}

impl SalesforceConfig {
    /// The JWT `aud` for this org: the configured audience, else `https://test.salesforce.com` for
    /// sandboxes (`test.salesforce.com`, `*.sandbox.my.salesforce.com`), else
    /// `https://login.salesforce.com` for other Salesforce hosts, else the login URL itself (a
    /// community, or a test server).
    pub fn jwt_audience(&self) -> String {
        if let SalesforceAuth::JwtBearer {
            audience: Some(audience),
            ..
        } = &self.auth
        {
            return audience.clone();
        }
        let login_url = self.login_url.trim_end_matches('/');
        let host = reqwest::Url::parse(login_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
            "https://test.salesforce.com".to_owned()
        } else if host == "login.salesforce.com" || host.ends_with(".salesforce.com") {
            "https://login.salesforce.com".to_owned()
        } else {
            login_url.to_owned()
        }
    }
}

impl fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("login_url", &self.login_url)
            .field("api_version", &self.api_version)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for SalesforceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
            Self::JwtBearer {
                client_id,
                username,
                audience,
                ..
            } => f
                .debug_struct("JwtBearer")
                .field("client_id", client_id)
                .field("username", username)
                .field("private_key_pem", &"[REDACTED]")
                .field("audience", audience)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(login_url: &str, audience: Option<&str>) -> SalesforceConfig {
        SalesforceConfig {
            login_url: login_url.into(),
            api_version: "61.0".into(),
            auth: SalesforceAuth::JwtBearer {
                client_id: "key".into(),
                username: "user@example.com".into(),
                private_key_pem: "-----BEGIN PRIVATE KEY-----private-body".into(),
                audience: audience.map(str::to_owned),
            },
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn audience_follows_the_login_host_unless_configured() {
        let aud = |url| jwt(url, None).jwt_audience();
        assert_eq!(
            aud("https://login.salesforce.com/"),
            "https://login.salesforce.com"
        );
        assert_eq!(
            aud("https://acme.my.salesforce.com"),
            "https://login.salesforce.com"
        );
        assert_eq!(
            aud("https://test.salesforce.com"),
            "https://test.salesforce.com"
        );
        assert_eq!(
            aud("https://acme--uat.sandbox.my.salesforce.com"),
            "https://test.salesforce.com"
        );
        assert_eq!(aud("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(
            jwt(
                "https://login.salesforce.com",
                Some("https://acme.force.com")
            )
            .jwt_audience(),
            "https://acme.force.com"
        );
    }

    #[test]
    fn debug_hides_the_private_key() {
        let shown = format!("{:?}", jwt("https://login.salesforce.com", None));
        assert!(!shown.contains("private-body"), "{shown}");
        assert!(shown.contains("REDACTED") && shown.contains("user@example.com"));
    }

    #[test]
    fn private_key_files_are_read_and_missing_ones_reported() {
        let path = std::env::temp_dir().join(format!("isthmus-sf-key-{}", std::process::id()));
        std::fs::write(&path, "-----BEGIN PRIVATE KEY-----").unwrap();
        assert!(SalesforceAuth::private_key_from_file(&path).is_ok());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            SalesforceAuth::private_key_from_file(&path),
            Err(SalesforceError::Config(_))
        ));
    }
}

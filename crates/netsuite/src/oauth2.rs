//! OAuth 2.0 client credentials (machine to machine).
//!
//! The client proves itself with a JWT assertion signed by the private key whose certificate is
//! uploaded to the integration's M2M setup: header `kid` = the certificate id; claims `iss` = the
//! client id, `scope` (an array), `aud` = the token URL, `iat` and `exp` (5 minutes later: NetSuite
//! allows at most 60). The answer carries an access token and `expires_in` (a number, or a numeric
//! string as some accounts send it) and no refresh token, so a new assertion is signed whenever the
//! token is about to run out.
//!
//! [`TokenSource`] keeps the current token behind one async mutex held across the token request:
//! concurrent calls that find no valid token wait for a single request (single flight). A token is
//! used until a minute before it expires (half its life when shorter), or until a call answers 401;
//! then [`TokenSource::invalidate`] drops it (only if it is still the current one).

use std::sync::Arc;
use std::time::{Duration, Instant};

use isthmus_jwt::SigningKey;
use secrecy::SecretString;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use tokio::sync::Mutex;
use url::Url;

use crate::error::NetSuiteError;

/// How long a client assertion is valid.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// A token is renewed this long before it expires (or at half its life, if that is sooner).
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// An access token and when to stop using it.
pub(crate) struct Bearer {
    pub(crate) access_token: SecretString,
    renew_at: Instant,
}

pub(crate) struct TokenSource {
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) signer: SigningKey,
    pub(crate) token_url: Url,
    current: Mutex<Option<Arc<Bearer>>>,
}

#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    #[serde(deserialize_with = "number_or_string")]
    expires_in: u64,
}

fn number_or_string<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Either::deserialize(de)? {
        Either::Number(n) => Ok(n),
        Either::Text(s) => s.trim().parse().map_err(D::Error::custom),
    }
}

impl TokenSource {
    pub(crate) fn new(
        client_id: String,
        scopes: Vec<String>,
        signer: SigningKey,
        token_url: Url,
    ) -> Self {
        Self {
            client_id,
            scopes,
            signer,
            token_url,
            current: Mutex::new(None),
        }
    }

    /// The claims of an assertion issued at `iat` (Unix seconds).
    pub(crate) fn claims(&self, iat: u64) -> serde_json::Value {
        json!({
            "iss": self.client_id,
            "scope": self.scopes,
            "aud": self.token_url.as_str(),
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs(),
        })
    }

    /// A freshly signed client assertion.
    pub(crate) fn assertion(&self) -> Result<String, NetSuiteError> {
        Ok(self.signer.sign(&self.claims(isthmus_jwt::now()))?)
    }

    /// The current token, or the one `fetch` obtains when there is none worth using. Concurrent
    /// callers share one fetch.
    pub(crate) async fn bearer<F, Fut>(&self, fetch: F) -> Result<Arc<Bearer>, NetSuiteError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<TokenResponse, NetSuiteError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(bearer) = current.as_ref().filter(|b| Instant::now() < b.renew_at) {
            return Ok(bearer.clone());
        }
        let fetched_at = Instant::now();
        let response = fetch().await?;
        let lifetime = Duration::from_secs(response.expires_in);
        let bearer = Arc::new(Bearer {
            access_token: response.access_token.into(),
            renew_at: fetched_at + lifetime - RENEW_MARGIN.min(lifetime / 2),
        });
        *current = Some(bearer.clone());
        Ok(bearer)
    }

    /// Drops `stale` if it is still the current token (a call answered 401 with it).
    pub(crate) async fn invalidate(&self, stale: &Arc<Bearer>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|b| Arc::ptr_eq(b, stale)) {
            *current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::Value;

    use super::*;
    use crate::JwtAlgorithm;

    /// A throwaway test key (PKCS#8), made with `openssl genpkey`.
    const EC_PEM: &str = include_str!("../tests/fixtures/test-ec-p256.pem");

    /// The decoded header and claims of a compact JWS.
    fn header_and_claims(jwt: &str) -> (Value, Value) {
        let mut parts = jwt.split('.').map(|part| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        });
        (parts.next().unwrap(), parts.next().unwrap())
    }

    fn source() -> TokenSource {
        let signer = SigningKey::from_pem(EC_PEM, JwtAlgorithm::ES256)
            .unwrap()
            .with_key_id("cert-ec");
        TokenSource::new(
            "client-1".into(),
            vec!["rest_webservices".into(), "restlets".into()],
            signer,
            Url::parse(
                "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
            )
            .unwrap(),
        )
    }

    #[test]
    fn assertion_carries_the_documented_claims() {
        let source = source();
        let jwt = source.assertion().unwrap();
        let (header, claims) = header_and_claims(&jwt);
        assert_eq!(header["kid"], "cert-ec");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["scope"], json!(["rest_webservices", "restlets"]));
        assert_eq!(
            claims["aud"],
            "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
        );
        let iat = claims["iat"].as_u64().unwrap();
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > iat && exp - iat <= 3600, "iat {iat} exp {exp}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(iat.abs_diff(now) < 5);
    }

    #[test]
    fn expires_in_may_be_a_number_or_a_string() {
        let a: TokenResponse = serde_json::from_str(
            r#"{"access_token":"t","expires_in":"3600","token_type":"bearer"}"#,
        )
        .unwrap();
        let b: TokenResponse =
            serde_json::from_str(r#"{"access_token":"t","expires_in":3600}"#).unwrap();
        assert_eq!((a.expires_in, b.expires_in), (3600, 3600));
    }

    #[tokio::test]
    async fn tokens_are_reused_until_invalidated() {
        let source = source();
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(TokenResponse {
                access_token: "t".into(),
                expires_in: 3600,
            })
        };
        let first = source.bearer(fetch).await.unwrap();
        let again = source.bearer(fetch).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        source.invalidate(&first).await;
        let fresh = source.bearer(fetch).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh));
        // Invalidating an old token leaves the current one alone.
        source.invalidate(&first).await;
        assert!(Arc::ptr_eq(&fresh, &source.bearer(fetch).await.unwrap()));
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn short_lived_tokens_are_renewed_at_half_their_life() {
        let source = source();
        let fetch = || async {
            Ok(TokenResponse {
                access_token: "t".into(),
                expires_in: 0,
            })
        };
        let first = source.bearer(fetch).await.unwrap();
        let second = source.bearer(fetch).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &second), "an expired token was reused");
    }
}

//! The RS256 assertion of the OAuth 2.0 JWT bearer flow.
//!
//! Claims: `iss` = the connected app's consumer key, `sub` = the username to act as, `aud` = the
//! login audience (`https://login.salesforce.com`, `https://test.salesforce.com` or a community
//! URL), `exp` = three minutes from now, as a number (Salesforce's maximum). The key (RSA, PEM:
//! PKCS#8 or PKCS#1), the header and the signature are `isthmus-jwt`'s.

use std::time::Duration;

use isthmus_jwt::{Algorithm, JwtError, SigningKey};
use serde_json::{json, Value};

/// How long an assertion is valid: the most Salesforce accepts.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(180);

/// Loads the connected app's private key for RS256. Errors never quote the key.
pub(crate) fn signing_key(pem: &str) -> Result<SigningKey, JwtError> {
    SigningKey::from_pem(pem, Algorithm::RS256)
}

/// The claims of an assertion made at `now` (Unix seconds).
fn claims(client_id: &str, username: &str, audience: &str, now: u64) -> Value {
    json!({
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": now + ASSERTION_LIFETIME.as_secs(),
    })
}

/// A signed assertion for the current time.
pub(crate) fn assertion(
    key: &SigningKey,
    client_id: &str,
    username: &str,
    audience: &str,
) -> Result<String, JwtError> {
    key.sign(&claims(client_id, username, audience, isthmus_jwt::now()))
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    /// A throwaway test key (PKCS#8), made with `openssl genpkey`.
    const RSA_PEM: &str = include_str!("../tests/fixtures/test-rsa-2048.pem");

    fn part(jwt: &str, i: usize) -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn assertion_is_rs256_with_the_documented_claims() {
        let key = signing_key(RSA_PEM).unwrap();
        let jwt = assertion(
            &key,
            "consumer-key",
            "user@example.com",
            "https://login.salesforce.com",
        )
        .unwrap();

        let (header, claims) = (part(&jwt, 0), part(&jwt, 1));
        assert_eq!(header, json!({ "alg": "RS256", "typ": "JWT" }));
        assert_eq!(claims["iss"], "consumer-key");
        assert_eq!(claims["sub"], "user@example.com");
        assert_eq!(claims["aud"], "https://login.salesforce.com");
        let exp = claims["exp"].as_u64().expect("exp is a number");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            (now + 170..=now + 181).contains(&exp),
            "exp {exp}, now {now}"
        );
    }

    #[test]
    fn only_rsa_keys_are_accepted() {
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let err = signing_key(ec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a EC PRIVATE KEY PEM is not an RSA private key"
        );
    }
}

//! The RS256 assertion of the OAuth 2.0 JWT bearer flow.
//!
//! Claims: `iss` = the connected app's consumer key, `sub` = the username to act as, `aud` = the
//! login audience (`https://login.salesforce.com`, `https://test.salesforce.com` or a community
//! URL), `exp` = three minutes from now, as a number (Salesforce's maximum). Signing uses `ring`
//! (already the workspace's crypto, constant-time RSA) rather than `jsonwebtoken`, whose pure-Rust
//! backend brings the `rsa` crate (RUSTSEC-2023-0071) and whose other backend is aws-lc, a C build
//! this workspace avoids. Keys are PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
//! (`BEGIN RSA PRIVATE KEY`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

/// How long an assertion is valid: the most Salesforce accepts.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(180);

/// An RSA private key that signs RS256 assertions.
pub(crate) struct AssertionSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl AssertionSigner {
    /// Loads a PEM private key. Errors never quote the key.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) = pem_der(pem)?;
        let key = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => return Err(format!("a {other} PEM is not an RSA private key")),
        }
        .map_err(|e| format!("RSA private key rejected: {e}"))?;
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The claims of an assertion made at `now` (Unix seconds).
    pub(crate) fn claims(client_id: &str, username: &str, audience: &str, now: u64) -> Value {
        json!({
            "iss": client_id,
            "sub": username,
            "aud": audience,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        })
    }

    /// A signed assertion for the current time.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        username: &str,
        audience: &str,
    ) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.sign(&Self::claims(client_id, username, audience, now))
    }

    fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({ "alg": "RS256", "typ": "JWT" });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The label and DER bytes of the first PEM block in `pem`.
fn pem_der(pem: &str) -> Result<(String, Vec<u8>), String> {
    let begin = pem
        .find("-----BEGIN ")
        .ok_or("no PEM block (-----BEGIN …-----) in the private key")?;
    let rest = &pem[begin + "-----BEGIN ".len()..];
    let (label, rest) = rest
        .split_once("-----")
        .ok_or("malformed PEM header in the private key")?;
    let (body, _) = rest
        .split_once(&format!("-----END {label}-----"))
        .ok_or("PEM block of the private key is not closed")?;
    let base64: String = body.split_whitespace().collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| "PEM body of the private key is not base64".to_owned())?;
    Ok((label.to_owned(), der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    /// A throwaway test key (PKCS#8), made with `openssl genpkey`.
    const RSA_PEM: &str = include_str!("../tests/fixtures/test-rsa-2048.pem");

    fn part(jwt: &str, i: usize) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap()
    }

    #[test]
    fn assertion_is_rs256_with_the_documented_claims() {
        let signer = AssertionSigner::from_pem(RSA_PEM).unwrap();
        let jwt = signer
            .assertion(
                "consumer-key",
                "user@example.com",
                "https://login.salesforce.com",
            )
            .unwrap();

        let header: Value = serde_json::from_slice(&part(&jwt, 0)).unwrap();
        let claims: Value = serde_json::from_slice(&part(&jwt, 1)).unwrap();
        assert_eq!(header["alg"], "RS256");
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

        let input = jwt.rsplit_once('.').unwrap().0;
        UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            signer.key.public_key().as_ref(),
        )
        .verify(input.as_bytes(), &part(&jwt, 2))
        .expect("signature verifies");
    }

    #[test]
    fn bad_keys_are_refused_without_quoting_them() {
        assert!(AssertionSigner::from_pem("nope").is_err());
        let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n";
        let err = AssertionSigner::from_pem(public).err().unwrap();
        assert!(!err.contains("MIIB"), "{err}");
    }
}

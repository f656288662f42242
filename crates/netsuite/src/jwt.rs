//! JSON Web Tokens signed for NetSuite's OAuth 2.0 client credentials (M2M) flow.
//!
//! A JWT here is only ever made, never checked: `base64url(header).base64url(claims)` signed with
//! the integration's private key, as RFC 7515 compact serialisation. Signing uses `ring` (already
//! the workspace's TLS and sandbox crypto; constant-time RSA and ECDSA) rather than
//! `jsonwebtoken`, whose pure-Rust backend brings the `rsa` crate (RUSTSEC-2023-0071, a timing
//! side channel) and whose other backend is aws-lc, a C build this workspace avoids.
//!
//! Keys are PEM: PKCS#8 (`BEGIN PRIVATE KEY`) for RSA and EC, or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
//! for RSA. A SEC1 EC key (`BEGIN EC PRIVATE KEY`) is refused with the `openssl` command that
//! converts it.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use serde_json::{json, Value};

/// The signing algorithms NetSuite accepts for the client assertion (and `ring` can sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// RSASSA-PSS with SHA-256: NetSuite's recommendation for RSA keys.
    PS256,
    PS384,
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// RSASSA-PKCS1-v1_5 with SHA-256: seen in NetSuite's samples; prefer PS256.
    RS256,
}

impl JwtAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::RS256 => "RS256",
        }
    }
}

enum Key {
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
}

/// A private key ready to sign JWTs with one algorithm and key id.
pub(crate) struct JwtSigner {
    algorithm: JwtAlgorithm,
    kid: String,
    key: Key,
    rng: SystemRandom,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    /// Loads `pem` for `algorithm`. Errors never quote the key.
    pub(crate) fn from_pem(algorithm: JwtAlgorithm, pem: &str, kid: &str) -> Result<Self, String> {
        let (label, der) = pem_der(pem)?;
        let rng = SystemRandom::new();
        let rsa = |encoding| -> Result<Key, String> {
            let pair = match label.as_str() {
                "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
                "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
                other => return Err(format!("a {other} PEM is not an RSA private key")),
            };
            pair.map(|pair| Key::Rsa(pair, encoding))
                .map_err(|e| format!("RSA private key rejected: {e}"))
        };
        let ecdsa = |alg| -> Result<Key, String> {
            match label.as_str() {
                "PRIVATE KEY" => EcdsaKeyPair::from_pkcs8(alg, &der, &rng)
                    .map(Key::Ecdsa)
                    .map_err(|e| format!("EC private key rejected (wrong curve?): {e}")),
                "EC PRIVATE KEY" => Err("a SEC1 EC key: convert it to PKCS#8 with \
                     `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
                    .into()),
                other => Err(format!("a {other} PEM is not an EC private key")),
            }
        };
        let key = match algorithm {
            JwtAlgorithm::PS256 => rsa(&signature::RSA_PSS_SHA256)?,
            JwtAlgorithm::PS384 => rsa(&signature::RSA_PSS_SHA384)?,
            JwtAlgorithm::PS512 => rsa(&signature::RSA_PSS_SHA512)?,
            JwtAlgorithm::RS256 => rsa(&signature::RSA_PKCS1_SHA256)?,
            JwtAlgorithm::ES256 => ecdsa(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)?,
            JwtAlgorithm::ES384 => ecdsa(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)?,
        };
        Ok(Self {
            algorithm,
            kid: kid.to_owned(),
            key,
            rng,
        })
    }

    /// The compact JWS of `claims`, with `alg`, `typ` and `kid` in the header.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({ "alg": self.algorithm.as_str(), "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.key {
            Key::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    *encoding,
                    &self.rng,
                    signing_input.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| "RSA signing failed".to_owned())?;
                signature
            }
            Key::Ecdsa(pair) => pair
                .sign(&self.rng, signing_input.as_bytes())
                .map_err(|_| "ECDSA signing failed".to_owned())?
                .as_ref()
                .to_vec(),
        };
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
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
    let end = format!("-----END {label}-----");
    let (body, _) = rest
        .split_once(&end)
        .ok_or("PEM block of the private key is not closed")?;
    let base64: String = body.split_whitespace().collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| "PEM body of the private key is not base64".to_owned())?;
    Ok((label.to_owned(), der))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::signature::{KeyPair, UnparsedPublicKey};

    /// Throwaway test keys (PKCS#8), made with `openssl genpkey`.
    pub(crate) const RSA_PEM: &str = include_str!("../tests/fixtures/test-rsa-2048.pem");
    pub(crate) const EC_PEM: &str = include_str!("../tests/fixtures/test-ec-p256.pem");

    /// Splits a compact JWS into its decoded header, claims, signing input and signature.
    pub(crate) fn decode(jwt: &str) -> (Value, Value, String, Vec<u8>) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let json = |part: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        (
            json(parts[0]),
            json(parts[1]),
            format!("{}.{}", parts[0], parts[1]),
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
    }

    fn public_key_of(signer: &JwtSigner) -> Vec<u8> {
        match &signer.key {
            Key::Rsa(pair, _) => pair.public().as_ref().to_vec(),
            Key::Ecdsa(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    #[test]
    fn ps256_tokens_verify_with_the_public_key() {
        let pem = crate::jwt::tests::RSA_PEM;
        let signer = JwtSigner::from_pem(JwtAlgorithm::PS256, pem, "cert-1").unwrap();
        let jwt = signer.sign(&json!({ "iss": "client" })).unwrap();
        let (header, claims, input, sig) = decode(&jwt);
        assert_eq!(
            header,
            json!({ "alg": "PS256", "typ": "JWT", "kid": "cert-1" })
        );
        assert_eq!(claims, json!({ "iss": "client" }));
        UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, public_key_of(&signer))
            .verify(input.as_bytes(), &sig)
            .expect("signature verifies");
    }

    #[test]
    fn es256_tokens_verify_with_the_public_key() {
        let pem = crate::jwt::tests::EC_PEM;
        let signer = JwtSigner::from_pem(JwtAlgorithm::ES256, pem, "cert-ec").unwrap();
        let jwt = signer.sign(&json!({ "iss": "client" })).unwrap();
        let (header, _, input, sig) = decode(&jwt);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(sig.len(), 64, "JWS ECDSA signatures are r || s");
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_key_of(&signer))
            .verify(input.as_bytes(), &sig)
            .expect("signature verifies");
    }

    #[test]
    fn keys_that_do_not_fit_the_algorithm_are_refused_without_quoting_them() {
        let rsa = crate::jwt::tests::RSA_PEM;
        let ec = crate::jwt::tests::EC_PEM;
        for (alg, pem) in [
            (JwtAlgorithm::ES256, rsa),
            (JwtAlgorithm::PS256, ec),
            (JwtAlgorithm::ES384, ec),
        ] {
            let err = JwtSigner::from_pem(alg, pem, "k").unwrap_err();
            assert!(!err.contains("MII"), "{err}");
        }
        assert!(JwtSigner::from_pem(JwtAlgorithm::PS256, "not a key", "k").is_err());
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let err = JwtSigner::from_pem(JwtAlgorithm::ES256, sec1, "k").unwrap_err();
        assert!(err.contains("pkcs8"), "{err}");
    }
}

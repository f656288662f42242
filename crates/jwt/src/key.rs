//! The signing algorithms and the private key that signs with one of them.
//!
//! A [`SigningKey`] is loaded for exactly one [`Algorithm`], so a key that does not fit (an EC key
//! for PS256, a P-256 key for ES384) is refused when it is loaded rather than on the first token.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, RsaEncoding, RsaKeyPair};
use serde_json::{json, Value};

use crate::{pem_to_der, JwtError};

/// The JWS algorithms the connectors sign with (and `ring` can sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PSS with SHA-256: NetSuite's recommendation for RSA keys.
    PS256,
    PS384,
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// RSASSA-PKCS1-v1_5 with SHA-256: what Salesforce's JWT bearer flow takes.
    RS256,
}

impl Algorithm {
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

    fn scheme(self) -> Scheme {
        match self {
            Self::PS256 => Scheme::Rsa(&signature::RSA_PSS_SHA256),
            Self::PS384 => Scheme::Rsa(&signature::RSA_PSS_SHA384),
            Self::PS512 => Scheme::Rsa(&signature::RSA_PSS_SHA512),
            Self::RS256 => Scheme::Rsa(&signature::RSA_PKCS1_SHA256),
            Self::ES256 => Scheme::Ecdsa(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Self::ES384 => Scheme::Ecdsa(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        }
    }
}

/// How `ring` signs for an [`Algorithm`]. ECDSA uses the fixed-length `r || s` form JWS requires.
enum Scheme {
    Rsa(&'static dyn RsaEncoding),
    Ecdsa(&'static EcdsaSigningAlgorithm),
}

enum Key {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ecdsa(EcdsaKeyPair),
}

/// A private key ready to sign JWTs with one algorithm and, optionally, a key id (`kid`).
/// `Debug` shows the algorithm and key id only.
pub struct SigningKey {
    algorithm: Algorithm,
    key_id: Option<String>,
    key: Key,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads the private key in `pem` for `algorithm`. Errors never quote the key.
    pub fn from_pem(pem: &str, algorithm: Algorithm) -> Result<Self, JwtError> {
        let (label, der) = pem_to_der(pem)?;
        let rng = SystemRandom::new();
        let key = match algorithm.scheme() {
            Scheme::Rsa(encoding) => Key::Rsa(rsa_key_pair(&label, &der)?, encoding),
            Scheme::Ecdsa(curve) => Key::Ecdsa(ecdsa_key_pair(curve, &label, &der, &rng)?),
        };
        Ok(Self {
            algorithm,
            key_id: None,
            key,
            rng,
        })
    }

    /// The same key, naming itself as `kid` in every header it signs.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The compact JWS of `claims`: header `{"alg", "typ": "JWT"}`, plus `kid` when the key has
    /// one.
    pub fn sign(&self, claims: &Value) -> Result<String, JwtError> {
        let alg = self.algorithm.as_str();
        let header = match &self.key_id {
            Some(kid) => json!({ "alg": alg, "typ": "JWT", "kid": kid }),
            None => json!({ "alg": alg, "typ": "JWT" }),
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.key {
            Key::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &self.rng, input.as_bytes(), &mut signature)
                    .map_err(|_| JwtError::Signing("RSA"))?;
                URL_SAFE_NO_PAD.encode(signature)
            }
            Key::Ecdsa(pair) => URL_SAFE_NO_PAD.encode(
                pair.sign(&self.rng, input.as_bytes())
                    .map_err(|_| JwtError::Signing("ECDSA"))?,
            ),
        };
        Ok(format!("{input}.{signature}"))
    }
}

fn rsa_key_pair(label: &str, der: &[u8]) -> Result<RsaKeyPair, JwtError> {
    match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der),
        other => return Err(not_a_private_key(other, "RSA")),
    }
    .map_err(|e| JwtError::RsaKeyRejected(e.to_string()))
}

fn ecdsa_key_pair(
    curve: &'static EcdsaSigningAlgorithm,
    label: &str,
    der: &[u8],
    rng: &SystemRandom,
) -> Result<EcdsaKeyPair, JwtError> {
    match label {
        "PRIVATE KEY" => EcdsaKeyPair::from_pkcs8(curve, der, rng)
            .map_err(|e| JwtError::EcKeyRejected(e.to_string())),
        "EC PRIVATE KEY" => Err(JwtError::Sec1EcKey),
        other => Err(not_a_private_key(other, "EC")),
    }
}

fn not_a_private_key(label: &str, family: &'static str) -> JwtError {
    JwtError::NotAPrivateKeyFor {
        label: label.to_owned(),
        family,
    }
}

#[cfg(test)]
mod tests;

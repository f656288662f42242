//! JSON Web Tokens as NetSuite's OAuth 2.0 client-credentials flow receives them: compact JWS,
//! header `{"alg","kid","typ"}`, signed with the private part of a registered certificate. The
//! signature is checked with `ring` against the public key of the certificate the `kid` names.
//!
//! NetSuite documents PS256/384/512 and ES256/384/512; RS256/384/512 appear in its samples and are
//! accepted too. An algorithm must fit the key: RSA keys take PS*/RS*, a P-256 key takes ES256 and a
//! P-384 key ES384. ES512 (P-521) is not supported by `ring`, so no key registered here takes it.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Map, Value};

/// The public half of a registered certificate.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// Uncompressed point of a P-256 key.
    EcP256(Vec<u8>),
    /// DER `RSAPublicKey`.
    Rsa(Vec<u8>),
}

impl PublicKey {
    /// The public key of a PKCS#8 PEM private key (EC P-256 or RSA).
    pub fn from_private_pem(pem: &str) -> Option<Self> {
        let der = pem_body(pem)?;
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
            &SystemRandom::new(),
        ) {
            return Some(Self::EcP256(pair.public_key().as_ref().to_vec()));
        }
        let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
        Some(Self::Rsa(pair.public_key().as_ref().to_vec()))
    }

    fn verifier(
        &self,
        alg: &str,
    ) -> Option<(&'static dyn signature::VerificationAlgorithm, &[u8])> {
        let algorithm: &'static dyn signature::VerificationAlgorithm = match (self, alg) {
            (Self::EcP256(_), "ES256") => &signature::ECDSA_P256_SHA256_FIXED,
            (Self::Rsa(_), "PS256") => &signature::RSA_PSS_2048_8192_SHA256,
            (Self::Rsa(_), "PS384") => &signature::RSA_PSS_2048_8192_SHA384,
            (Self::Rsa(_), "PS512") => &signature::RSA_PSS_2048_8192_SHA512,
            (Self::Rsa(_), "RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
            (Self::Rsa(_), "RS384") => &signature::RSA_PKCS1_2048_8192_SHA384,
            (Self::Rsa(_), "RS512") => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return None,
        };
        let key = match self {
            Self::EcP256(k) | Self::Rsa(k) => k.as_slice(),
        };
        Some((algorithm, key))
    }
}

/// The DER bytes between the `-----BEGIN …-----` and `-----END …-----` lines.
pub fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok()
}

/// Why a token was refused (the token endpoint maps these to OAuth error codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    Malformed,
    /// `kid` names no registered certificate.
    UnknownKey,
    /// `alg` is missing, unsupported, or does not fit the key.
    UnsupportedAlgorithm,
    /// The signature does not verify.
    BadSignature,
}

/// A token whose signature verified: its claims.
#[derive(Debug)]
pub struct Verified {
    pub claims: Map<String, Value>,
}

fn json_part(part: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed),
    }
}

/// Checks a compact JWS against the certificates in `keys` (by `kid`).
pub fn verify(token: &str, keys: &HashMap<String, PublicKey>) -> Result<Verified, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = json_part(header_b64)?;
    let claims = json_part(claims_b64)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    let kid = header.get("kid").and_then(Value::as_str).unwrap_or("");
    let key = keys.get(kid).ok_or(JwtError::UnknownKey)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let (algorithm, public_key) = key.verifier(alg).ok_or(JwtError::UnsupportedAlgorithm)?;
    let signed = &token.trim()[..header_b64.len() + 1 + claims_b64.len()];
    UnparsedPublicKey::new(algorithm, public_key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| JwtError::BadSignature)?;
    Ok(Verified { claims })
}

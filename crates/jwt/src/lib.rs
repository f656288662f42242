//! JSON Web Tokens signed for the connectors' OAuth 2.0 assertions (Salesforce's JWT bearer
//! flow, NetSuite's client credentials flow).
//!
//! A JWT here is only ever made, never checked: `base64url(header).base64url(claims)` signed with a
//! private key, as RFC 7515 compact serialisation. Each connector builds its own claims; this crate
//! owns everything else: the PEM key ([`pem_to_der`], [`SigningKey::from_pem`]), the header
//! (`alg`, `typ` and, when the key has one, `kid`), the encoding and the signature.
//!
//! Signing uses `ring` (already the workspace's TLS and sandbox crypto; constant-time RSA and
//! ECDSA) rather than `jsonwebtoken`, whose pure-Rust backend brings the `rsa` crate
//! (RUSTSEC-2023-0071, a timing side channel) and whose other backend is aws-lc, a C build this
//! workspace avoids.
//!
//! Keys are PEM: PKCS#8 (`BEGIN PRIVATE KEY`) for RSA and EC, or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
//! for RSA. A SEC1 EC key (`BEGIN EC PRIVATE KEY`) is refused with the `openssl` command that
//! converts it. Neither errors nor `Debug` output ever show key material.

mod error;
mod key;
mod pem;

use std::time::{SystemTime, UNIX_EPOCH};

pub use error::JwtError;
pub use key::{Algorithm, SigningKey};
pub use pem::pem_to_der;

/// The current time as a JWT NumericDate: whole seconds since the Unix epoch (0 if the clock
/// reads before 1970).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

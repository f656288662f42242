//! The OAuth 2.0 JWT bearer grant (RFC 7523) as Salesforce checks it: an RS256 JWT whose `iss` is
//! a connected app's consumer key, signed with the private key of the certificate registered on
//! that app; `sub` a username of the org; `aud` the login server (`https://login.salesforce.com`,
//! `https://test.salesforce.com`) or the org's own URL; `exp` in the future (a number, or a numeric
//! string as some clients send it).
//!
//! The registered key is the fixed test pair under `crates/sandbox/keys/` (`sf-jwt-public.pem`;
//! clients sign with `sf-jwt-private.pem`). Refusals are HTTP 400 OAuth errors.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::Value;

use crate::credentials::SF_CLIENT_ID;

/// The public key (SubjectPublicKeyInfo PEM) registered on the connected app [`SF_CLIENT_ID`].
const REGISTERED_PUBLIC_KEY_PEM: &str = include_str!("../../keys/sf-jwt-public.pem");

const LOGIN_AUDIENCES: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];

/// Why an assertion was refused: the OAuth `error` and `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: &'static str,
}

const INVALID_ASSERTION: Refusal = Refusal {
    error: "invalid_grant",
    description: "invalid assertion",
};

/// Checks `assertion`; returns the `sub` username when the grant may proceed.
/// `own_url` is the sandbox's base URL (also a valid audience); `now` is in epoch seconds.
pub fn verify(
    assertion: &str,
    own_url: &str,
    now: i64,
    is_user: impl Fn(&str) -> bool,
) -> Result<String, Refusal> {
    let mut parts = assertion.trim().split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(INVALID_ASSERTION);
    };
    let header = decode_json(header)?;
    let claims = decode_json(claims)?;
    if header["alg"] != "RS256" {
        return Err(INVALID_ASSERTION);
    }
    if claims["iss"] != SF_CLIENT_ID {
        return Err(Refusal {
            error: "invalid_client_id",
            description: "client identifier invalid",
        });
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| INVALID_ASSERTION)?;
    let signed = &assertion.trim()[..assertion.trim().rfind('.').unwrap_or(0)];
    let key = registered_key().ok_or(INVALID_ASSERTION)?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| INVALID_ASSERTION)?;
    if !audiences(&claims["aud"]).any(|aud| is_valid_audience(aud, own_url)) {
        return Err(Refusal {
            error: "invalid_grant",
            description: "audience is invalid",
        });
    }
    if expiry(&claims["exp"]).is_none_or(|exp| exp <= now) {
        // The wording Salesforce uses for an expired assertion is *unconfirmed*.
        return Err(Refusal {
            error: "invalid_grant",
            description: "expired authorization code",
        });
    }
    match claims["sub"].as_str() {
        Some(user) if is_user(user) => Ok(user.to_owned()),
        _ => Err(Refusal {
            error: "invalid_grant",
            description: "user hasn't approved this consumer",
        }),
    }
}

fn decode_json(part: &str) -> Result<Value, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| INVALID_ASSERTION)?;
    serde_json::from_slice(&bytes).map_err(|_| INVALID_ASSERTION)
}

/// `aud` is a string or an array of strings.
fn audiences(aud: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match aud {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

fn is_valid_audience(aud: &str, own_url: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    LOGIN_AUDIENCES.contains(&aud) || aud.eq_ignore_ascii_case(own_url.trim_end_matches('/'))
}

/// `exp` as a number or a numeric string.
fn expiry(exp: &Value) -> Option<i64> {
    match exp {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The PKCS#1 `RSAPublicKey` inside the registered SubjectPublicKeyInfo, as `ring` wants it.
fn registered_key() -> Option<Vec<u8>> {
    let base64: String = REGISTERED_PUBLIC_KEY_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let spki = STANDARD.decode(base64.trim()).ok()?;
    let (0x30, spki, _) = der_item(&spki)? else {
        return None;
    };
    let (0x30, _algorithm, rest) = der_item(spki)? else {
        return None;
    };
    let (0x03, bits, _) = der_item(rest)? else {
        return None;
    };
    match bits.split_first()? {
        (0, key) => Some(key.to_vec()),
        _ => None,
    }
}

/// One DER item: `(tag, content, rest)`.
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, tail) = rest.split_at(count);
        rest = tail;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registered_key_parses_to_a_pkcs1_rsa_public_key() {
        let key = registered_key().expect("key parses");
        assert_eq!(key[0], 0x30);
        assert!(key.len() > 256);
    }

    #[test]
    fn expiry_accepts_numbers_and_numeric_strings() {
        assert_eq!(
            expiry(&serde_json::json!(1_800_000_000)),
            Some(1_800_000_000)
        );
        assert_eq!(
            expiry(&serde_json::json!("1800000000")),
            Some(1_800_000_000)
        );
        assert_eq!(expiry(&serde_json::json!("soon")), None);
    }

    #[test]
    fn malformed_assertions_are_invalid() {
        let refused = verify("not-a-jwt", "http://x", 0, |_| true);
        assert_eq!(refused, Err(INVALID_ASSERTION));
    }
}

//! Token-based authentication: OAuth 1.0a request signing (RFC 5849) as pure functions.
//!
//! NetSuite signs with HMAC-SHA256 and `realm` = the account id as configured (`123456_SB1`).
//! The signature base string is `METHOD&enc(base URI)&enc(normalized parameters)` where the base
//! URI is `scheme://host[:port]/path` (port only when not the scheme's default) and the normalized
//! parameters are every `oauth_*` parameter except `oauth_signature` plus the decoded query
//! parameters, each encoded, sorted by name then value, joined as `k=v&…` (RFC 5849 §3.4.1). The
//! `realm` is not signed. HMAC-SHA1 is here only to check the machinery against published vectors:
//! NetSuite no longer accepts it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::distr::{Alphanumeric, SampleString};
use url::Url;

/// Everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 5849 §3.6 percent-encoding: UTF-8, every byte outside the unreserved set as `%XX`.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RESERVED).to_string()
}

/// The HMAC used for `oauth_signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha256,
    /// Only for the published test vectors; NetSuite rejects it.
    HmacSha1,
}

impl SignatureMethod {
    /// The `oauth_signature_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMAC-SHA256",
            Self::HmacSha1 => "HMAC-SHA1",
        }
    }
}

/// The four TBA credentials.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: &'a str,
    pub token_secret: &'a str,
}

/// The signature base string of a request to `url` carrying `oauth_params` (all `oauth_*`
/// parameters except `oauth_signature`).
pub fn base_string(method: &str, url: &Url, oauth_params: &[(&str, &str)]) -> String {
    let mut base_uri = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base_uri.push_str(&format!(":{port}"));
    }
    base_uri.push_str(url.path());

    let mut params: Vec<(String, String)> = oauth_params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .chain(
            url.query_pairs()
                .map(|(k, v)| (percent_encode(&k), percent_encode(&v))),
        )
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");

    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_uri),
        percent_encode(&normalized)
    )
}

/// The base64 `oauth_signature` of `base_string`, keyed `enc(consumer_secret)&enc(token_secret)`.
pub fn signature(
    method: SignatureMethod,
    base_string: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    let digest = match method {
        SignatureMethod::HmacSha256 => hmac_digest::<Hmac<sha2::Sha256>>(&key, base_string),
        SignatureMethod::HmacSha1 => hmac_digest::<Hmac<sha1::Sha1>>(&key, base_string),
    };
    BASE64.encode(digest)
}

fn hmac_digest<M: Mac + hmac::digest::KeyInit>(key: &str, message: &str) -> Vec<u8> {
    // HMAC hashes keys longer than a block and pads shorter ones: no key length is invalid.
    let mut mac = <M as Mac>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header value: `OAuth realm="…", k="v", …, oauth_signature="…"`, every
/// value percent-encoded.
pub fn authorization_header(realm: &str, oauth_params: &[(&str, &str)], signature: &str) -> String {
    let mut header = format!("OAuth realm=\"{}\"", percent_encode(realm));
    for (k, v) in oauth_params
        .iter()
        .chain(std::iter::once(&("oauth_signature", signature)))
    {
        header.push_str(&format!(
            ", {}=\"{}\"",
            percent_encode(k),
            percent_encode(v)
        ));
    }
    header
}

/// A fresh nonce: 20 random ASCII letters and digits.
pub fn nonce() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

/// The current Unix time in seconds, as `oauth_timestamp` wants it.
pub fn timestamp() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string()
}

/// Signs one request with HMAC-SHA256 and returns its `Authorization` header value.
pub fn authorize(
    method: &str,
    url: &Url,
    realm: &str,
    credentials: Credentials<'_>,
    nonce: &str,
    timestamp: &str,
) -> String {
    let params = [
        ("oauth_consumer_key", credentials.consumer_key),
        ("oauth_token", credentials.token),
        (
            "oauth_signature_method",
            SignatureMethod::HmacSha256.as_str(),
        ),
        ("oauth_timestamp", timestamp),
        ("oauth_nonce", nonce),
        ("oauth_version", "1.0"),
    ];
    let base = base_string(method, url, &params);
    let signature = signature(
        SignatureMethod::HmacSha256,
        &base,
        credentials.consumer_secret,
        credentials.token_secret,
    );
    authorization_header(realm, &params, &signature)
}

#[cfg(test)]
mod tests;

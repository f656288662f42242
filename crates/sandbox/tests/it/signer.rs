//! A test-only OAuth 1.0a signer, written from RFC 5849 independently of the sandbox's verifier.

use base64::Engine;
use hmac::{Hmac, Mac};
use isthmus_sandbox::credentials;

pub struct Options {
    pub method: &'static str,
    pub timestamp: i64,
    pub nonce: String,
    pub consumer_secret: &'static str,
    pub realm: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            method: "HMAC-SHA256",
            timestamp: chrono::Utc::now().timestamp(),
            nonce: uuid_like(),
            consumer_secret: credentials::NS_CONSUMER_SECRET,
            realm: credentials::NS_ACCOUNT_ID,
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "n{}x{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// RFC 3986 percent-encoding: only ALPHA / DIGIT / "-" / "." / "_" / "~" stay.
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn hmac_b64(method: &str, key: &str, text: &str) -> String {
    let bytes = if method == "HMAC-SHA1" {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Signature base string: method, base URL (no query), sorted encoded parameters.
pub fn base_string(http_method: &str, url: &str, oauth: &[(&str, String)]) -> String {
    let parsed = url::Url::parse(url).unwrap();
    let mut base = format!(
        "{}://{}",
        parsed.scheme(),
        parsed.host_str().unwrap().to_lowercase()
    );
    if let Some(port) = parsed.port() {
        base.push_str(&format!(":{port}"));
    }
    base.push_str(parsed.path());
    let mut params: Vec<(String, String)> = oauth.iter().map(|(k, v)| (pct(k), pct(v))).collect();
    params.extend(parsed.query_pairs().map(|(k, v)| (pct(&k), pct(&v))));
    params.sort();
    let joined: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}&{}&{}", http_method, pct(&base), pct(&joined.join("&")))
}

pub fn authorization(http_method: &str, url: &str, options: &Options) -> String {
    let oauth = vec![
        (
            "oauth_consumer_key",
            credentials::NS_CONSUMER_KEY.to_owned(),
        ),
        ("oauth_token", credentials::NS_TOKEN_ID.to_owned()),
        ("oauth_signature_method", options.method.to_owned()),
        ("oauth_timestamp", options.timestamp.to_string()),
        ("oauth_nonce", options.nonce.clone()),
        ("oauth_version", "1.0".to_owned()),
    ];
    let key = format!(
        "{}&{}",
        pct(options.consumer_secret),
        pct(credentials::NS_TOKEN_SECRET)
    );
    let signature = hmac_b64(options.method, &key, &base_string(http_method, url, &oauth));
    let mut parts = vec![format!("realm=\"{}\"", options.realm)];
    parts.extend(oauth.iter().map(|(k, v)| format!("{k}=\"{}\"", pct(v))));
    parts.push(format!("oauth_signature=\"{}\"", pct(&signature)));
    format!("OAuth {}", parts.join(", "))
}

#[test]
fn test_signer_reproduces_rfc5849_example() {
    let oauth = vec![
        ("oauth_consumer_key", "dpf43f3p2l4k3l03".to_owned()),
        ("oauth_token", "nnch734d00sl2jdk".to_owned()),
        ("oauth_signature_method", "HMAC-SHA1".to_owned()),
        ("oauth_timestamp", "137131202".to_owned()),
        ("oauth_nonce", "chapoH".to_owned()),
    ];
    let base = base_string(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        &oauth,
    );
    assert_eq!(
        hmac_b64("HMAC-SHA1", "kd94hf93k423kf44&pfkkdhi9sl3r4s00", &base),
        "MdpQcU8iPSUjWoN/UDMsK2sui9I="
    );
}

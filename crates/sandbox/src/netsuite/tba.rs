//! Token-based authentication: OAuth 1.0a (RFC 5849) as NetSuite applies it. The verifier parses
//! the `Authorization: OAuth realm="…", …` header, checks realm, consumer key, token, method
//! (`HMAC-SHA256` only; NetSuite no longer accepts HMAC-SHA1), a timestamp within five minutes and
//! an unused nonce, then recomputes the signature over the method, the base URL (scheme, lower-case
//! host with any non-default port, path) and every `oauth_*` parameter that arrived (except `realm`
//! and `oauth_signature`) plus the query parameters, sorted and RFC 3986-encoded. An
//! `oauth_body_hash` (the OAuth Request Body Hash extension) is signed over like any `oauth_*`
//! parameter and must match the body: base64 SHA-256 (the digest matching HMAC-SHA256) or SHA-1,
//! which Authlib-based clients such as the `netsuite` Python package send with any method. Every
//! failure is the same 401 `INVALID_LOGIN`, as NetSuite gives nothing away.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::error::ApiError;
use crate::credentials::{NS_CONSUMER_KEY, NS_CONSUMER_SECRET, NS_TOKEN_ID, NS_TOKEN_SECRET};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How far a timestamp may be from the server clock.
const MAX_SKEW_SECONDS: i64 = 300;

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

/// The parsed `Authorization: OAuth …` header: realm and the other parameters, decoded.
#[derive(Debug, Default)]
pub struct OAuthHeader {
    pub realm: Option<String>,
    pub params: Vec<(String, String)>,
}

impl OAuthHeader {
    pub fn parse(value: &str) -> Option<Self> {
        let (scheme, rest) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("OAuth") {
            return None;
        }
        let mut header = OAuthHeader::default();
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, quoted) = part.split_once('=')?;
            let value = quoted.trim().strip_prefix('"')?.strip_suffix('"')?;
            let name = percent_decode_str(name.trim())
                .decode_utf8()
                .ok()?
                .into_owned();
            let value = percent_decode_str(value).decode_utf8().ok()?.into_owned();
            if name == "realm" {
                header.realm = Some(value);
            } else {
                header.params.push((name, value));
            }
        }
        Some(header)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The RFC 5849 §3.4.1 signature base string.
pub fn base_string(method: &str, base_url: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_url),
        encode(&normalized)
    )
}

fn signing_key(consumer_secret: &str, token_secret: &str) -> String {
    format!("{}&{}", encode(consumer_secret), encode(token_secret))
}

/// Base64 of the HMAC of `base_string`.
pub fn sign(
    algorithm: Algorithm,
    base_string: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = signing_key(consumer_secret, token_secret);
    let digest = match algorithm {
        Algorithm::HmacSha1 => Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).map(|mut m| {
            m.update(base_string.as_bytes());
            m.finalize().into_bytes().to_vec()
        }),
        Algorithm::HmacSha256 => {
            Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).map(|mut m| {
                m.update(base_string.as_bytes());
                m.finalize().into_bytes().to_vec()
            })
        }
    };
    digest.map(|d| STANDARD.encode(d)).unwrap_or_default()
}

/// What a request looks like to the verifier.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub scheme: &'a str,
    /// The Host header, as sent.
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// The request body, when the middleware buffered it (it does when `oauth_body_hash` is sent).
    pub body: Option<&'a [u8]>,
}

/// Verifies TBA signatures and remembers recent nonces to refuse replays.
#[derive(Default)]
pub struct Verifier {
    seen_nonces: Mutex<Nonces>,
}

/// Nonces seen within the replay window, with their timestamps, and the second they were last
/// pruned (at most once a second, so a busy account does not scan the window on every call).
#[derive(Default)]
struct Nonces {
    seen: HashMap<String, i64>,
    pruned_at: i64,
}

impl Verifier {
    pub fn verify(
        &self,
        account_id: &str,
        request: &SignedRequest,
        now: i64,
    ) -> Result<(), ApiError> {
        let fail = ApiError::invalid_login;
        let header = request
            .authorization
            .and_then(OAuthHeader::parse)
            .ok_or_else(fail)?;
        let realm_ok = header
            .realm
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(account_id));
        let known = header.get("oauth_consumer_key") == Some(NS_CONSUMER_KEY)
            && header.get("oauth_token") == Some(NS_TOKEN_ID);
        let algorithm = match header.get("oauth_signature_method") {
            Some("HMAC-SHA256") => Some(Algorithm::HmacSha256),
            Some("HMAC-SHA1") => Some(Algorithm::HmacSha1),
            _ => None,
        };
        // NetSuite no longer accepts HMAC-SHA1 signatures.
        let method_ok = algorithm == Some(Algorithm::HmacSha256);
        let version_ok = header.get("oauth_version").is_none_or(|v| v == "1.0");
        if !(realm_ok && known && method_ok && version_ok) {
            return Err(fail());
        }
        let timestamp: i64 = header
            .get("oauth_timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(fail)?;
        if (now - timestamp).abs() > MAX_SKEW_SECONDS {
            return Err(fail());
        }
        let nonce = header
            .get("oauth_nonce")
            .filter(|n| !n.is_empty())
            .ok_or_else(fail)?;
        let signature = header.get("oauth_signature").ok_or_else(fail)?;
        if let Some(claimed) = header.get("oauth_body_hash") {
            if !body_hash_matches(claimed, request.body.unwrap_or_default()) {
                return Err(fail());
            }
        }
        let mut params: Vec<(String, String)> = header
            .params
            .iter()
            .filter(|(k, _)| k != "oauth_signature")
            .cloned()
            .collect();
        if let Some(query) = request.query {
            params.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
        }
        let base = base_string(
            request.method,
            &base_url(request.scheme, request.host, request.path),
            &params,
        );
        let expected = sign(
            Algorithm::HmacSha256,
            &base,
            NS_CONSUMER_SECRET,
            NS_TOKEN_SECRET,
        );
        if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(fail());
        }
        let mut nonces = self.seen_nonces.lock().unwrap_or_else(|e| e.into_inner());
        if nonces.pruned_at != now {
            nonces
                .seen
                .retain(|_, at| (now - *at).abs() <= 2 * MAX_SKEW_SECONDS);
            nonces.pruned_at = now;
        }
        let key = format!("{}:{nonce}", NS_TOKEN_ID);
        if nonces.seen.insert(key, timestamp).is_some() {
            return Err(fail());
        }
        Ok(())
    }
}

/// `scheme://host[:port]/path` with the host lower-cased and the scheme's default port dropped.
/// Whether `claimed` is the base64 SHA-256 or SHA-1 digest of `body`.
fn body_hash_matches(claimed: &str, body: &[u8]) -> bool {
    let sha256 = STANDARD.encode(<sha2::Sha256 as sha2::Digest>::digest(body));
    let sha1 = STANDARD.encode(<sha1::Sha1 as sha1::Digest>::digest(body));
    constant_time_eq(sha256.as_bytes(), claimed.as_bytes())
        || constant_time_eq(sha1.as_bytes(), claimed.as_bytes())
}

pub fn base_url(scheme: &str, host: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    format!("{scheme}://{host}{path}")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §1.2: the photos.example.net request signed with HMAC-SHA1.
    #[test]
    fn rfc5849_example_base_string_and_signature() {
        let header = OAuthHeader::parse(
            r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#,
        )
        .unwrap();
        let mut params: Vec<(String, String)> = header
            .params
            .iter()
            .filter(|(k, _)| k != "oauth_signature")
            .cloned()
            .collect();
        params.extend(url::form_urlencoded::parse(b"file=vacation.jpg&size=original").into_owned());
        let base = base_string(
            "GET",
            &base_url("http", "photos.example.net", "/photos"),
            &params,
        );
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
        );
        assert_eq!(
            sign(
                Algorithm::HmacSha1,
                &base,
                "kd94hf93k423kf44",
                "pfkkdhi9sl3r4s00"
            ),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
        assert_eq!(
            header.get("oauth_signature"),
            Some("MdpQcU8iPSUjWoN/UDMsK2sui9I=")
        );
    }

    #[test]
    fn base_url_lowercases_host_and_drops_default_port_only() {
        assert_eq!(
            base_url("HTTP", "Example.COM:80", "/r"),
            "http://example.com/r"
        );
        assert_eq!(
            base_url("http", "127.0.0.1:8123", "/r"),
            "http://127.0.0.1:8123/r"
        );
    }

    #[test]
    fn encoding_follows_rfc3986() {
        assert_eq!(encode("a b+c/~_-.é"), "a%20b%2Bc%2F~_-.%C3%A9");
    }
}

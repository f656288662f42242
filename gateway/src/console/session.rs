//! Console sessions: an admin or viewer API key, presented once on the sign-in form, becomes a
//! signed, expiring session cookie; every state-changing form carries a CSRF token bound to the
//! session.
//!
//! - The cookie (`isthmus_console`) holds `base64url(key name | expiry ms | nonce)` and its
//!   HMAC-SHA256 under the console's session key, `HttpOnly`, `SameSite=Strict`, `Path=/console`,
//!   `Max-Age` of the session, and `Secure` when configured or when the request came over https.
//!   It carries no key: a stolen cookie expires, and removing the key from the configuration
//!   ends its sessions at once (the name is looked up on every request).
//! - The CSRF token is the HMAC of the session's nonce under the same key: a form posted from
//!   another site (which cannot read the page) has none, and `SameSite=Strict` keeps the cookie
//!   off cross-site requests besides.
//! - No server-side state: any gateway replica with the same key checks any session.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::{Caller, Scope};
use crate::Gateway;

pub const COOKIE: &str = "isthmus_console";

/// The key sessions are signed with.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    /// A random key (sessions then end when the process does).
    pub fn random() -> Self {
        Self(rand::random::<[u8; 32]>().to_vec())
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    /// The token every form of this session posts back.
    pub csrf: String,
}

impl Session {
    /// Whether the user may act (admin), not only look (viewer).
    pub fn can_act(&self) -> bool {
        self.caller.may(Scope::Admin)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn csrf_of(key: &SessionKey, nonce: &str) -> String {
    hex::encode(key.mac(&[b"csrf", nonce.as_bytes()]))
}

/// The `Set-Cookie` value of a new session for `caller`.
pub fn issue(key: &SessionKey, caller: &Caller, ttl: Duration, secure: bool) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires = now_ms() + ttl.as_millis() as i64;
    let payload = format!("{}|{expires}|{nonce}", caller.name);
    let tag = key.mac(&[b"session", payload.as_bytes()]);
    let value = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(tag)
    );
    cookie(&value, ttl.as_secs(), secure)
}

/// The `Set-Cookie` value that ends a session.
pub fn clear(secure: bool) -> String {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// Whether the cookie must be `Secure`: configured so, or the request came over https.
pub fn secure(configured: bool, headers: &HeaderMap) -> bool {
    configured
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session a request's cookie carries, when it verifies, has not expired, and names a key
/// still configured with the admin or viewer scope.
pub fn read(gateway: &Gateway, headers: &HeaderMap) -> Option<Session> {
    let console = gateway.console.as_ref()?;
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)?;
    let (payload, tag) = value.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if !console.key.verify(&[b"session", &payload], &tag) {
        return None;
    }
    let payload = String::from_utf8(payload).ok()?;
    let mut parts = payload.rsplitn(3, '|');
    let (nonce, expires, name) = (parts.next()?, parts.next()?, parts.next()?);
    if expires.parse::<i64>().ok()? <= now_ms() {
        return None;
    }
    let caller = gateway.keys.caller_named(name)?.clone();
    if !caller.may_read_admin() {
        return None;
    }
    Some(Session {
        caller,
        csrf: csrf_of(&console.key, nonce),
    })
}

/// Whether `token` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &Session, token: &str) -> bool {
    use subtle_eq::eq;
    eq(session.csrf.as_bytes(), token.as_bytes())
}

mod subtle_eq {
    /// Constant-time equality of two byte strings of public length.
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A page that needs a session sends whoever has none to the sign-in form.
impl FromRequestParts<Gateway> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, gateway: &Gateway) -> Result<Self, Response> {
        read(gateway, &parts.headers).ok_or_else(|| {
            let mut response = Redirect::to("/console/login").into_response();
            if let Ok(value) = HeaderValue::from_str(&clear(false)) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_http_only_strict_and_scoped_to_the_console() {
        let caller = Caller {
            name: "ops".into(),
            scopes: vec![Scope::Admin],
        };
        let set = issue(
            &SessionKey::random(),
            &caller,
            Duration::from_secs(60),
            true,
        );
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/console",
            "Max-Age=60",
            "Secure",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!issue(
            &SessionKey::random(),
            &caller,
            Duration::from_secs(60),
            false
        )
        .contains("Secure"));
    }
}

//! Signed NetSuite events: the User Event script (`netsuite/…/lib/event_signing.js`) signs each
//! event it posts to `/v1/netsuite/events` with a secret shared with the gateway:
//!
//! ```text
//! X-Isthmus-Timestamp: <unix seconds when sent>
//! X-Isthmus-Signature: v2=<lowercase hex HMAC-SHA256(secret as UTF-8,
//!                          "<timestamp>.<METHOD>.<path?query>.<raw body>")>
//! ```
//!
//! `v2` covers the request's method and its target exactly as sent (path, and `?` and the query
//! when there is one), so a captured event cannot be re-aimed (another route) or have its query
//! changed (`dry_run`, `mode`). The older `v1` covered only `"<timestamp>.<raw body>"`; its
//! values count only when the gateway is configured to accept them
//! (`gateway.netsuite_hmac_accept_v1`, for the time a NetSuite account still runs the old
//! script), and are otherwise ignored like any other scheme's.
//!
//! [`EventSigning`] decides whether an event may pass:
//! - both headers present and well-formed ([`SignatureHeaders::parse`]), before the body is read;
//! - the timestamp within `now ± window` ([`EventSigning::check_time`]), so a captured event
//!   stops working once the window has passed;
//! - one of the accepted values equal to the HMAC of what it covers, compared in constant time
//!   ([`EventSigning::verify`]). Several comma-separated values are accepted and any match
//!   passes, so a sender can sign with the old and the new secret while the gateway's secret is
//!   rotated; values of other schemes (`v0=…`) are ignored.
//!
//! A verified event yields a replay key (a SHA-256 of the matched signature, never of the
//! secret) and how long to remember it; the caller stores it once, which refuses a replay inside
//! the window. Refusals never carry the secret or the expected signature.
//!
//! What this does not do: tell two events apart whose timestamp, target and body are identical
//! (the same record, action and second): the second is a replay by construction.

use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::GatewayError;

/// The header carrying the send time, unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-isthmus-timestamp";
/// The header carrying `v2=<hex>` signatures, comma-separated.
pub const SIGNATURE_HEADER: &str = "x-isthmus-signature";

/// The signature schemes read; any other is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HMAC-SHA256 over `"<timestamp>.<body>"`: counts only when configured.
    V1,
    /// HMAC-SHA256 over `"<timestamp>.<METHOD>.<path?query>.<body>"`.
    V2,
}
/// Most entries one `X-Isthmus-Signature` may list (a rotation needs two).
const MAX_ENTRIES: usize = 8;
/// Longest timestamp read: unix seconds have 10 digits until the year 2286; 13-digit
/// milliseconds still parse, to be refused as far ahead of the clock (the clearer message).
const MAX_TIMESTAMP_DIGITS: usize = 15;

type HmacSha256 = Hmac<Sha256>;

/// Why a NetSuite event's signature was refused; every variant answers 401 `UNAUTHENTICATED`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header: NetSuite events must be signed")]
    MissingHeader(&'static str),
    #[error("X-Isthmus-Timestamp must be the send time in unix seconds (digits only)")]
    MalformedTimestamp,
    #[error(
        "X-Isthmus-Timestamp is {skew_s} s {} the gateway's clock, more than the {window_s} s \
         allowed: a stale or replayed event, or a sender's clock out of sync",
        if *.ahead { "ahead of" } else { "behind" }
    )]
    OutsideWindow {
        skew_s: u64,
        ahead: bool,
        window_s: u64,
    },
    #[error(
        "X-Isthmus-Signature must be `v2=<64 hex digits>` (at most {MAX_ENTRIES} values, \
         separated by commas)"
    )]
    MalformedSignature,
    #[error(
        "X-Isthmus-Signature does not match the timestamp, the method, the path and query, and \
         the body"
    )]
    Mismatch,
}

/// The two signature headers of a request, parsed; nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    timestamp: u64,
    /// The `v1=` and `v2=` values, decoded.
    signatures: Vec<(Scheme, [u8; 32])>,
}

impl SignatureHeaders {
    /// From a request's headers (a value that is not visible ASCII is malformed).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SignatureError> {
        let text = |name: &'static str, malformed: SignatureError| {
            headers
                .get(name)
                .map(|v| v.to_str().map_err(|_| malformed))
                .transpose()
        };
        Self::parse(
            text(TIMESTAMP_HEADER, SignatureError::MalformedTimestamp)?,
            text(SIGNATURE_HEADER, SignatureError::MalformedSignature)?,
        )
    }

    /// From the header values: the timestamp as ASCII digits, the signature as `v2=<hex>` (or
    /// `v1=<hex>`) entries separated by commas (spaces around an entry are ignored, as are
    /// entries of other schemes; at least one `v1=` or `v2=` entry is needed).
    pub fn parse(timestamp: Option<&str>, signature: Option<&str>) -> Result<Self, SignatureError> {
        let timestamp = timestamp.ok_or(SignatureError::MissingHeader("X-Isthmus-Timestamp"))?;
        let signature = signature.ok_or(SignatureError::MissingHeader("X-Isthmus-Signature"))?;
        let timestamp = timestamp.trim();
        if timestamp.is_empty()
            || timestamp.len() > MAX_TIMESTAMP_DIGITS
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(SignatureError::MalformedTimestamp);
        }
        let timestamp = timestamp
            .parse()
            .map_err(|_| SignatureError::MalformedTimestamp)?;

        let entries: Vec<&str> = signature
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.len() > MAX_ENTRIES {
            return Err(SignatureError::MalformedSignature);
        }
        let mut signatures = Vec::new();
        for entry in entries {
            let (scheme, value) = entry
                .split_once('=')
                .ok_or(SignatureError::MalformedSignature)?;
            let scheme = match scheme {
                "v1" => Scheme::V1,
                "v2" => Scheme::V2,
                other => {
                    if other.is_empty() || !other.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        return Err(SignatureError::MalformedSignature);
                    }
                    continue;
                }
            };
            let mut decoded = [0u8; 32];
            hex::decode_to_slice(value, &mut decoded)
                .map_err(|_| SignatureError::MalformedSignature)?;
            signatures.push((scheme, decoded));
        }
        if signatures.is_empty() {
            return Err(SignatureError::MalformedSignature);
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }

    /// The signed send time, unix seconds.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// A verified event: what to remember so the same signature is refused if it comes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// `netsuite-event-signature:<hex SHA-256 of the matched signature>`.
    pub replay_key: String,
    /// Until the timestamp leaves the window, plus one window of slack for gateway replicas
    /// whose clocks differ.
    pub remember_for: Duration,
}

/// The gateway's NetSuite event signing secret and replay window.
#[derive(Clone)]
pub struct EventSigning {
    /// HMAC-SHA256 keyed with the secret's UTF-8 bytes (cloned for each event).
    keyed: HmacSha256,
    window_s: u64,
    /// Whether `v1=` values (timestamp and body only) count.
    accept_v1: bool,
}

impl std::fmt::Debug for EventSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSigning")
            .field("secret", &"[set]")
            .field("window_s", &self.window_s)
            .field("accept_v1", &self.accept_v1)
            .finish()
    }
}

impl EventSigning {
    /// `secret`: the shared secret as NetSuite's API Secret holds it (its UTF-8 bytes are the
    /// HMAC key); `window`: how far a timestamp may be from now either way (whole seconds, at
    /// least one).
    pub fn new(secret: &str, window: Duration) -> Result<Self, GatewayError> {
        if secret.is_empty() {
            return Err(GatewayError::EmptySigningSecret);
        }
        let window_s = window.as_secs();
        if window_s == 0 {
            return Err(GatewayError::SigningWindow);
        }
        let keyed = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
            .map_err(|_| GatewayError::EmptySigningSecret)?;
        Ok(Self {
            keyed,
            window_s,
            accept_v1: false,
        })
    }

    /// Also accepts `v1=` signatures (timestamp and body only, not the method, path or query):
    /// only while senders still run the old script.
    pub fn accepting_v1(mut self, accept: bool) -> Self {
        self.accept_v1 = accept;
        self
    }

    pub fn accepts_v1(&self) -> bool {
        self.accept_v1
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_s)
    }

    /// Refuses a timestamp more than the window away from `now` (unix seconds), either way.
    pub fn check_time(&self, headers: &SignatureHeaders, now: u64) -> Result<(), SignatureError> {
        let skew_s = headers.timestamp.abs_diff(now);
        if skew_s > self.window_s {
            return Err(SignatureError::OutsideWindow {
                skew_s,
                ahead: headers.timestamp > now,
                window_s: self.window_s,
            });
        }
        Ok(())
    }

    /// Checks the time, then that one of the signatures is the HMAC of what its scheme covers:
    /// `v2`, `"<timestamp>.<method>.<target>.<body>"` (`target`: the path, and `?query` when
    /// the request has one, as sent); `v1`, when accepted, `"<timestamp>.<body>"`. Each is
    /// compared in constant time.
    pub fn verify(
        &self,
        headers: &SignatureHeaders,
        method: &str,
        target: &str,
        body: &[u8],
        now: u64,
    ) -> Result<VerifiedEvent, SignatureError> {
        self.check_time(headers, now)?;
        let timestamp = headers.timestamp.to_string();
        let mut v2 = self.keyed.clone();
        for part in [
            timestamp.as_bytes(),
            b".",
            method.as_bytes(),
            b".",
            target.as_bytes(),
            b".",
        ] {
            v2.update(part);
        }
        v2.update(body);
        let mut v1 = self.keyed.clone();
        v1.update(timestamp.as_bytes());
        v1.update(b".");
        v1.update(body);
        let (_, matched) = headers
            .signatures
            .iter()
            .find(|(scheme, candidate)| match scheme {
                Scheme::V2 => v2.clone().verify_slice(candidate).is_ok(),
                Scheme::V1 => self.accept_v1 && v1.clone().verify_slice(candidate).is_ok(),
            })
            .ok_or(SignatureError::Mismatch)?;
        let valid_for = (headers.timestamp + self.window_s).saturating_sub(now);
        Ok(VerifiedEvent {
            replay_key: format!(
                "netsuite-event-signature:{}",
                hex::encode(Sha256::digest(matched))
            ),
            remember_for: Duration::from_secs(valid_for + self.window_s),
        })
    }
}

#[cfg(test)]
mod tests;

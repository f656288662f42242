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
mod tests {
    use super::*;

    const SECRET: &str = "a NetSuite API Secret value, read as UTF-8 ✓";
    const BODY: &[u8] = br#"{"record_type":"customer","id":"42","event_type":"edit"}"#;
    const NOW: u64 = 1_760_000_000;
    const METHOD: &str = "POST";
    const TARGET: &str = "/v1/netsuite/events";

    fn signing() -> EventSigning {
        EventSigning::new(SECRET, Duration::from_secs(300)).unwrap()
    }

    /// The `v2=` value the User Event script sends, computed independently of the verifier.
    fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
        sign_target(secret, timestamp, METHOD, TARGET, body)
    }

    fn sign_target(
        secret: &str,
        timestamp: u64,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.{method}.{target}.").as_bytes());
        mac.update(body);
        format!("v2={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The `v1=` value the old script sent: timestamp and body only.
    fn sign_v1(secret: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(timestamp: u64, signature: &str) -> SignatureHeaders {
        SignatureHeaders::parse(Some(&timestamp.to_string()), Some(signature)).unwrap()
    }

    #[test]
    fn a_correctly_signed_event_verifies() {
        let signed = headers(NOW, &sign(SECRET, NOW, BODY));
        let verified = signing()
            .verify(&signed, METHOD, TARGET, BODY, NOW)
            .unwrap();
        assert!(verified.replay_key.starts_with("netsuite-event-signature:"));
        assert_eq!(verified.remember_for, Duration::from_secs(600));
    }

    #[test]
    fn the_user_event_scripts_known_vector_verifies() {
        // The vector netsuite/test/events_ue.test.js pins for lib/event_signing.js.
        let signing =
            EventSigning::new("isthmus-test-secret-0123456789", Duration::from_secs(300)).unwrap();
        let body = br#"{"record_type":"customer","id":"123","event_type":"create"}"#;
        let target = "/v1/netsuite/events?mode=async";
        let now = 1_767_225_600 + 299;
        let expected = sign_target(
            "isthmus-test-secret-0123456789",
            1_767_225_600,
            "POST",
            target,
            body,
        );
        let pinned = SignatureHeaders::parse(Some("1767225600"), Some(&expected)).unwrap();
        assert!(signing.verify(&pinned, "POST", target, body, now).is_ok());
        assert_eq!(expected, KNOWN_V2, "the vector the script's tests pin");
        assert_eq!(
            signing.verify(&pinned, "POST", target, body, 1_767_225_600 + 301),
            Err(SignatureError::OutsideWindow {
                skew_s: 301,
                ahead: false,
                window_s: 300
            })
        );
    }

    /// `v2` of the known vector: secret `isthmus-test-secret-0123456789`, timestamp
    /// 1767225600, `POST /v1/netsuite/events?mode=async`, the body above.
    const KNOWN_V2: &str = "v2=b33590e0e7c0ce0de05bd568007ac74a95fcd7815c62b89bf49abd95ff0e9f67";

    #[test]
    fn a_changed_query_method_or_path_is_refused() {
        let signing = signing();
        let target = "/v1/netsuite/events?dry_run=true";
        let signed = headers(NOW, &sign_target(SECRET, NOW, "POST", target, BODY));
        assert!(signing.verify(&signed, "POST", target, BODY, NOW).is_ok());
        for (method, tampered) in [
            ("POST", "/v1/netsuite/events"),
            ("POST", "/v1/netsuite/events?dry_run=false"),
            ("POST", "/v1/netsuite/events?dry_run=true&mode=async"),
            ("POST", "/v1/netsuite/events?mode=async"),
            ("PUT", target),
            ("POST", "/v1/netsuite/Events?dry_run=true"),
        ] {
            assert_eq!(
                signing.verify(&signed, method, tampered, BODY, NOW),
                Err(SignatureError::Mismatch),
                "{method} {tampered}"
            );
        }
    }

    #[test]
    fn v1_signatures_count_only_when_configured() {
        let old = headers(NOW, &sign_v1(SECRET, NOW, BODY));
        assert_eq!(
            signing().verify(&old, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        let accepting = signing().accepting_v1(true);
        assert!(accepting.verify(&old, METHOD, TARGET, BODY, NOW).is_ok());
        // v1 covers no query: that is why it is off by default.
        assert!(accepting
            .verify(&old, METHOD, "/v1/netsuite/events?dry_run=true", BODY, NOW)
            .is_ok());
    }

    #[test]
    fn a_signature_with_another_secret_is_refused() {
        let signed = headers(NOW, &sign("another secret", NOW, BODY));
        assert_eq!(
            signing().verify(&signed, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let signed = headers(NOW, &sign(SECRET, NOW, BODY));
        let tampered = br#"{"record_type":"customer","id":"43","event_type":"edit"}"#;
        assert_eq!(
            signing().verify(&signed, METHOD, TARGET, tampered, NOW),
            Err(SignatureError::Mismatch)
        );
        // One byte more (a trailing newline) is another body too.
        let mut longer = BODY.to_vec();
        longer.push(b'\n');
        assert_eq!(
            signing().verify(&signed, METHOD, TARGET, &longer, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_moved_timestamp_is_refused() {
        // The signature of NOW presented with another timestamp, still inside the window.
        let signed = headers(NOW + 1, &sign(SECRET, NOW, BODY));
        assert_eq!(
            signing().verify(&signed, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn timestamps_at_the_window_edges_pass_and_beyond_are_refused() {
        let signing = signing();
        for timestamp in [NOW - 300, NOW + 300] {
            let signed = headers(timestamp, &sign(SECRET, timestamp, BODY));
            assert!(
                signing.verify(&signed, METHOD, TARGET, BODY, NOW).is_ok(),
                "{timestamp}"
            );
        }
        let stale = headers(NOW - 301, &sign(SECRET, NOW - 301, BODY));
        assert_eq!(
            signing.verify(&stale, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::OutsideWindow {
                skew_s: 301,
                ahead: false,
                window_s: 300
            })
        );
        let future = headers(NOW + 301, &sign(SECRET, NOW + 301, BODY));
        assert_eq!(
            signing.check_time(&future, NOW),
            Err(SignatureError::OutsideWindow {
                skew_s: 301,
                ahead: true,
                window_s: 300
            })
        );
        // A timestamp in milliseconds is far in the future.
        let millis = headers(NOW * 1000, &sign(SECRET, NOW * 1000, BODY));
        assert!(matches!(
            signing.verify(&millis, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::OutsideWindow { ahead: true, .. })
        ));
    }

    #[test]
    fn the_replay_key_is_remembered_until_the_timestamp_leaves_the_window_plus_slack() {
        let signing = signing();
        let old = headers(NOW - 200, &sign(SECRET, NOW - 200, BODY));
        let verified = signing.verify(&old, METHOD, TARGET, BODY, NOW).unwrap();
        assert_eq!(verified.remember_for, Duration::from_secs(100 + 300));
        let ahead = headers(NOW + 200, &sign(SECRET, NOW + 200, BODY));
        let verified_ahead = signing.verify(&ahead, METHOD, TARGET, BODY, NOW).unwrap();
        assert_eq!(verified_ahead.remember_for, Duration::from_secs(500 + 300));
        // Another timestamp is another signature, so another key.
        assert_ne!(verified.replay_key, verified_ahead.replay_key);
    }

    #[test]
    fn the_replay_key_names_the_matched_signature_not_the_header() {
        let signing = signing();
        let good = sign(SECRET, NOW, BODY);
        let alone = signing
            .verify(&headers(NOW, &good), METHOD, TARGET, BODY, NOW)
            .unwrap();
        let padded = format!("v2={}, {good}", "0".repeat(64));
        let with_decoy = signing
            .verify(&headers(NOW, &padded), METHOD, TARGET, BODY, NOW)
            .unwrap();
        assert_eq!(alone.replay_key, with_decoy.replay_key);
        let hex_part = &good[3..];
        assert!(!alone.replay_key.contains(hex_part), "the key is a hash");
        assert!(!alone.replay_key.contains(SECRET));
    }

    #[test]
    fn any_of_several_signatures_may_match_during_a_rotation() {
        let signing = signing();
        let old = sign("the old secret", NOW, BODY);
        let new = sign(SECRET, NOW, BODY);
        for header in [
            format!("{old},{new}"),
            format!("{new}, {old}"),
            format!(" {old} ,\t{new} "),
            format!("v0=whatever,{new}"),
        ] {
            let signed = headers(NOW, &header);
            assert!(
                signing.verify(&signed, METHOD, TARGET, BODY, NOW).is_ok(),
                "{header}"
            );
        }
        let neither = headers(NOW, &format!("{old},{}", sign("a third", NOW, BODY)));
        assert_eq!(
            signing.verify(&neither, METHOD, TARGET, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let signature = sign(SECRET, NOW, BODY);
        let upper = format!("v2={}", signature[3..].to_uppercase());
        assert!(signing()
            .verify(&headers(NOW, &upper), METHOD, TARGET, BODY, NOW)
            .is_ok());
    }

    #[test]
    fn missing_headers_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        assert_eq!(
            SignatureHeaders::parse(None, Some(&good)),
            Err(SignatureError::MissingHeader("X-Isthmus-Timestamp"))
        );
        assert_eq!(
            SignatureHeaders::parse(Some("1760000000"), None),
            Err(SignatureError::MissingHeader("X-Isthmus-Signature"))
        );
        assert_eq!(
            SignatureHeaders::from_headers(&HeaderMap::new()),
            Err(SignatureError::MissingHeader("X-Isthmus-Timestamp"))
        );
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        for timestamp in [
            "",
            " ",
            "-1760000000",
            "+1760000000",
            "1760000000.5",
            "1.76e9",
            "0x68e6b680",
            "2025-10-09T08:53:20Z",
            "1760000000000000",
            "99999999999999999999999",
        ] {
            assert_eq!(
                SignatureHeaders::parse(Some(timestamp), Some(&good)),
                Err(SignatureError::MalformedTimestamp),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        let hex_part = &good[3..];
        let too_many = vec![good.clone(); MAX_ENTRIES + 1].join(",");
        for signature in [
            String::new(),
            ",".to_string(),
            hex_part.to_string(),
            format!("v1:{hex_part}"),
            format!("V1={hex_part}"),
            format!("v1={}", &hex_part[..63]),
            format!("v1={hex_part}0"),
            format!("v1={}g", &hex_part[..63]),
            format!("v1= {hex_part}"),
            format!("sha256={hex_part}"),
            format!("v0={hex_part}"),
            format!("v 1={hex_part},{good}"),
            too_many,
        ] {
            assert_eq!(
                SignatureHeaders::parse(Some("1760000000"), Some(&signature)),
                Err(SignatureError::MalformedSignature),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn headers_that_are_not_text_are_malformed() {
        let mut map = HeaderMap::new();
        map.insert(
            TIMESTAMP_HEADER,
            axum::http::HeaderValue::from_bytes(b"17600\xff0000").unwrap(),
        );
        map.insert(SIGNATURE_HEADER, sign(SECRET, NOW, BODY).parse().unwrap());
        assert_eq!(
            SignatureHeaders::from_headers(&map),
            Err(SignatureError::MalformedTimestamp)
        );
    }

    #[test]
    fn refusals_never_show_the_secret_or_the_expected_signature() {
        let signing = signing();
        let expected = sign(SECRET, NOW, BODY);
        let wrong = headers(NOW, &sign("wrong", NOW, BODY));
        let stale = headers(NOW - 1000, &sign(SECRET, NOW - 1000, BODY));
        for error in [
            signing
                .verify(&wrong, METHOD, TARGET, BODY, NOW)
                .unwrap_err(),
            signing
                .verify(&stale, METHOD, TARGET, BODY, NOW)
                .unwrap_err(),
            SignatureHeaders::parse(Some("x"), Some(&expected)).unwrap_err(),
            SignatureHeaders::parse(Some("1"), Some("v1=zz")).unwrap_err(),
        ] {
            let message = error.to_string();
            assert!(!message.contains(SECRET), "{message}");
            assert!(!message.contains(&expected[3..]), "{message}");
        }
        assert!(!format!("{signing:?}").contains(SECRET));
    }

    #[test]
    fn an_empty_secret_or_a_zero_window_is_a_configuration_error() {
        assert!(matches!(
            EventSigning::new("", Duration::from_secs(300)),
            Err(GatewayError::EmptySigningSecret)
        ));
        assert!(matches!(
            EventSigning::new(SECRET, Duration::from_millis(999)),
            Err(GatewayError::SigningWindow)
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_header_text_is_parsed_or_refused_never_a_panic(
                timestamp in proptest::option::of("\\PC{0,20}"),
                signature in proptest::option::of("\\PC{0,200}|(v1=[0-9a-fA-F]{0,66},?){0,10}"),
            ) {
                let _ = SignatureHeaders::parse(timestamp.as_deref(), signature.as_deref());
            }

            #[test]
            fn well_formed_headers_round_trip(
                timestamp in 0u64..=999_999_999_999_999,
                values in proptest::collection::vec(proptest::array::uniform32(any::<u8>()), 1..=MAX_ENTRIES),
                upper in any::<bool>(),
            ) {
                let header = values
                    .iter()
                    .map(|v| {
                        let hex = hex::encode(v);
                        format!("v2={}", if upper { hex.to_uppercase() } else { hex })
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let parsed = SignatureHeaders::parse(Some(&timestamp.to_string()), Some(&header)).unwrap();
                prop_assert_eq!(parsed.timestamp(), timestamp);
                let decoded: Vec<[u8; 32]> = parsed.signatures.iter().map(|(_, v)| *v).collect();
                prop_assert_eq!(decoded, values);
                prop_assert!(parsed.signatures.iter().all(|(scheme, _)| *scheme == Scheme::V2));
            }

            #[test]
            fn a_signature_verifies_only_over_its_own_timestamp_and_body(
                body in proptest::collection::vec(any::<u8>(), 0..256),
                other in proptest::collection::vec(any::<u8>(), 0..256),
                skew in 0u64..=300,
            ) {
                let signing = signing();
                let signed = headers(NOW - skew, &sign(SECRET, NOW - skew, &body));
                prop_assert!(signing.verify(&signed, METHOD, TARGET, &body, NOW).is_ok());
                if other != body {
                    prop_assert_eq!(signing.verify(&signed, METHOD, TARGET, &other, NOW), Err(SignatureError::Mismatch));
                }
            }
        }
    }
}

//! Tests of the signature header parser and of [`EventSigning`], with property tests.
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

fn sign_target(secret: &str, timestamp: u64, method: &str, target: &str, body: &[u8]) -> String {
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

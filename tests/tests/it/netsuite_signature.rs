//! Signed NetSuite events through the whole mesh. Events are signed by default: the gateway does
//! not start without a signing secret unless `gateway.netsuite_events_unsigned` says so, and it
//! lets an event through only when it is signed the way the User Event script signs it
//! (`netsuite/…/lib/event_signing.js`): `X-Isthmus-Signature: v2=<hex HMAC-SHA256 of
//! "<X-Isthmus-Timestamp>.POST.<path?query>.<raw body>">`, the timestamp within the window, each
//! signature once. Everything else (a changed query string included) is 401 before any
//! service, vendor or Redis key is touched.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use isthmus_sandbox::seed;
use isthmus_tests::{text, StoreKind, TestMesh, NS_KEY, SF_KEY};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "netsuite-api-secret-for-the-tests-0123456789";
const WINDOW_S: u64 = 60;
const MAX_BODY_BYTES: usize = 1024;

async fn signing_mesh(kind: StoreKind) -> TestMesh {
    TestMesh::start_configured(kind, |config, secrets| {
        config.gateway.netsuite_hmac_window_s = WINDOW_S;
        config.gateway.max_body_bytes = MAX_BODY_BYTES;
        secrets.netsuite_hmac_secret = Some(SecretString::from(SECRET.to_string()));
    })
    .await
}

async fn plain_mesh(kind: StoreKind) -> TestMesh {
    TestMesh::start_configured(kind, |config, secrets| {
        assert!(secrets.netsuite_hmac_secret.is_none());
        config.gateway.netsuite_events_unsigned = true;
    })
    .await
}

/// A mesh that still takes the old `v1=` signatures (`gateway.netsuite_hmac_accept_v1`).
async fn v1_mesh(kind: StoreKind) -> TestMesh {
    TestMesh::start_configured(kind, |config, secrets| {
        config.gateway.netsuite_hmac_accept_v1 = true;
        secrets.netsuite_hmac_secret = Some(SecretString::from(SECRET.to_string()));
    })
    .await
}

const EVENTS: &str = "/v1/netsuite/events";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `v2=<hex>` for a POST to `/v1/netsuite/events`, computed here as the User Event script
/// computes it.
fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    isthmus_tests::sign_event_at(secret, timestamp, "POST", EVENTS, body)
}

/// `v1=<hex>`: the old scheme, over the timestamp and the body only.
fn signature_v1(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether the gateway remembers `signature` as accepted (its replay record).
async fn remembered(mesh: &TestMesh, signature: &str) -> bool {
    let bytes = hex::decode(&signature[3..]).unwrap();
    let key = format!(
        "netsuite-event-signature:{}",
        hex::encode(Sha256::digest(&bytes))
    );
    mesh.store.idempotency_get(&key).await.unwrap().is_some()
}

fn customer_event(id: &str, event_type: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "record_type": "customer", "id": id, "event_type": event_type }))
        .unwrap()
}

/// POST `/v1/netsuite/events` with the raw `body`, `headers` and, when given, the bearer `key`.
async fn post_event(
    mesh: &TestMesh,
    body: &[u8],
    headers: &[(&str, &str)],
    key: Option<&str>,
) -> (u16, Value) {
    post_event_to(mesh, EVENTS, body, headers, key).await
}

/// POST to `target` (the events path and a query) with the raw `body` and `headers`.
async fn post_event_to(
    mesh: &TestMesh,
    target: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = mesh
        .http
        .post(format!("{}{target}", mesh.gateway))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A correctly signed event, as NetSuite sends it.
async fn post_signed(mesh: &TestMesh, timestamp: u64, body: &[u8]) -> (u16, Value, String) {
    let signed = signature(SECRET, timestamp, body);
    let timestamp = timestamp.to_string();
    let (status, answer) = post_event(
        mesh,
        body,
        &[
            ("x-isthmus-timestamp", &timestamp),
            ("x-isthmus-signature", &signed),
        ],
        Some(NS_KEY),
    )
    .await;
    (status, answer, signed)
}

fn accounts_of(mesh: &TestMesh, customer_id: &str) -> usize {
    mesh.sandbox
        .sf_records("Account")
        .iter()
        .filter(|a| text(a.get("NetSuite_Id__c")).as_deref() == Some(customer_id))
        .count()
}

fn netsuite_only_customer(mesh: &TestMesh, n: usize) -> String {
    let customer = mesh.ns_where("customer", "companyName", seed::NETSUITE_ONLY_CUSTOMERS[n]);
    text(customer[0].get("id")).unwrap()
}

/// What a refusal must look like: 401 `UNAUTHENTICATED`, the reason, a trace id, no secret and
/// no expected signature.
fn assert_refused(case: &str, status: u16, answer: &Value, reason: &str, expected: &str) {
    assert_eq!(status, 401, "{case}: {answer}");
    assert_eq!(answer["code"], "UNAUTHENTICATED", "{case}: {answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{case}: {message:?}");
    assert!(!message.contains(SECRET), "{case}: {message:?}");
    assert!(!message.contains(&expected[3..]), "{case}: {message:?}");
    assert!(
        answer["trace_id"].as_str().is_some_and(|t| t.len() == 32),
        "{case}: {answer}"
    );
}

async fn a_signed_event_creates_its_account_once_and_a_replay_is_refused(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 0);
    let body = customer_event(&customer_id, "create");
    let sent_at = now();
    mesh.sandbox.reset_calls();

    let (status, answer, signed) = post_signed(mesh, sent_at, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "created", "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 1);
    assert!(mesh.sandbox.calls().salesforce_writes() >= 1);
    assert!(
        remembered(mesh, &signed).await,
        "the signature is remembered"
    );
    if let Some(replay_keys) = mesh.redis_keys("idem:netsuite-event-signature:*").await {
        assert_eq!(replay_keys.len(), 1, "{replay_keys:?}");
        assert!(
            !replay_keys[0].contains(&signed[3..]),
            "the key is a hash of the signature: {replay_keys:?}"
        );
    }

    // The same request again, byte for byte, inside the window: refused, nothing runs.
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let timestamp = sent_at.to_string();
    let (status, answer) = post_event(
        mesh,
        &body,
        &[
            ("x-isthmus-timestamp", &timestamp),
            ("x-isthmus-signature", &signed),
        ],
        Some(NS_KEY),
    )
    .await;
    assert_refused("replay", status, &answer, "replayed event", &signed);
    // Padded with a decoy signature it is still the same signature.
    let padded = format!("v2={},{signed}", "0".repeat(64));
    let (status, answer) = post_event(
        mesh,
        &body,
        &[
            ("x-isthmus-timestamp", &timestamp),
            ("x-isthmus-signature", &padded),
        ],
        Some(NS_KEY),
    )
    .await;
    assert_refused("padded replay", status, &answer, "replayed event", &signed);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_total(), calls.netsuite_total()),
        (0, 0),
        "{calls:?}"
    );
    mesh.assert_store_unchanged(&before).await;
    assert_eq!(accounts_of(mesh, &customer_id), 1);

    // NetSuite sending the event again signs it anew (another second): that one passes.
    let (status, answer, _) = post_signed(mesh, sent_at + 1, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "unchanged", "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 1);
}

async fn unsigned_forged_stale_and_malformed_events_are_refused_before_anything_runs(
    mesh: &TestMesh,
) {
    let customer_id = netsuite_only_customer(mesh, 1);
    let body = customer_event(&customer_id, "create");
    let t = now();
    let good = signature(SECRET, t, &body);
    let other_body = customer_event(&netsuite_only_customer(mesh, 2), "create");
    let stale = t - 2 * WINDOW_S;
    let future = t + 2 * WINDOW_S;
    let millis = t * 1000;
    let cases: Vec<(&str, String, String, &str)> = vec![
        // (case, X-Isthmus-Timestamp, X-Isthmus-Signature, what the message says); empty: absent
        (
            "unsigned",
            String::new(),
            String::new(),
            "missing X-Isthmus-Timestamp",
        ),
        (
            "no signature",
            t.to_string(),
            String::new(),
            "missing X-Isthmus-Signature",
        ),
        (
            "another secret",
            t.to_string(),
            signature("not the gateway's secret", t, &body),
            "does not match",
        ),
        (
            "tampered body",
            t.to_string(),
            signature(SECRET, t, &other_body),
            "does not match",
        ),
        (
            "moved timestamp",
            (t + 1).to_string(),
            good.clone(),
            "does not match",
        ),
        (
            "stale",
            stale.to_string(),
            signature(SECRET, stale, &body),
            "behind",
        ),
        (
            "future",
            future.to_string(),
            signature(SECRET, future, &body),
            "ahead of",
        ),
        (
            "milliseconds",
            millis.to_string(),
            signature(SECRET, millis, &body),
            "ahead of",
        ),
        (
            "other scheme",
            t.to_string(),
            good.replace("v2=", "sha256="),
            "must be `v2=",
        ),
        (
            "short signature",
            t.to_string(),
            good[..good.len() - 2].to_string(),
            "must be `v2=",
        ),
        (
            "date as timestamp",
            "2026-01-01T00:00:00Z".to_string(),
            good.clone(),
            "unix seconds",
        ),
    ];
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    for (case, timestamp, signed, reason) in &cases {
        let mut headers = Vec::new();
        if !timestamp.is_empty() {
            headers.push(("x-isthmus-timestamp", timestamp.as_str()));
        }
        if !signed.is_empty() {
            headers.push(("x-isthmus-signature", signed.as_str()));
        }
        let (status, answer) = post_event(mesh, &body, &headers, Some(NS_KEY)).await;
        assert_refused(case, status, &answer, reason, &good);
        if signed.starts_with("v2=") && signed.len() == 67 {
            assert!(!remembered(mesh, signed).await, "{case}: no replay record");
        }
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_total(), 0, "no Salesforce call: {calls:?}");
    assert_eq!(calls.netsuite_total(), 0, "no service ran: {calls:?}");
    mesh.assert_store_unchanged(&before).await;
    assert_eq!(accounts_of(mesh, &customer_id), 0);
    assert!(!remembered(mesh, &good).await);

    // The refusals were about the signature alone: the event, signed, passes.
    let (status, answer, _) = post_signed(mesh, now(), &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "created", "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 1);
}

async fn the_api_key_and_the_body_limit_still_hold_for_signed_events(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 0);
    let body = customer_event(&customer_id, "create");
    let t = now();
    let signed = signature(SECRET, t, &body);
    let timestamp = t.to_string();
    let headers = [
        ("x-isthmus-timestamp", timestamp.as_str()),
        ("x-isthmus-signature", signed.as_str()),
    ];
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();

    let (status, answer) = post_event(mesh, &body, &headers, None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("Authorization"),
        "{answer}"
    );
    let (status, answer) = post_event(mesh, &body, &headers, Some(SF_KEY)).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "PERMISSION_DENIED", "{answer}");

    // Over `gateway.max_body_bytes`, correctly signed: 413, as without a secret.
    let mut large = customer_event(&customer_id, "create");
    large.truncate(large.len() - 1);
    large.extend(std::iter::repeat_n(b' ', MAX_BODY_BYTES));
    large.push(b'}');
    let large_signed = signature(SECRET, t, &large);
    let (status, answer) = post_event(
        mesh,
        &large,
        &[
            ("x-isthmus-timestamp", &timestamp),
            ("x-isthmus-signature", &large_signed),
        ],
        Some(NS_KEY),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["code"], "PAYLOAD_TOO_LARGE", "{answer}");

    // Signed but not JSON: the route's own checks answer, after the signature.
    let not_json = b"record_type=customer".to_vec();
    let not_json_signed = signature(SECRET, t, &not_json);
    let (status, answer) = post_event(
        mesh,
        &not_json,
        &[
            ("x-isthmus-timestamp", &timestamp),
            ("x-isthmus-signature", &not_json_signed),
        ],
        Some(NS_KEY),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "INVALID_ARGUMENT", "{answer}");

    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_total(), calls.netsuite_total()),
        (0, 0),
        "{calls:?}"
    );
    assert_eq!(accounts_of(mesh, &customer_id), 0);
    assert!(!remembered(mesh, &signed).await);
    assert!(!remembered(mesh, &large_signed).await);
    assert!(
        remembered(mesh, &not_json_signed).await,
        "a verified signature is used up, whatever the route then says"
    );
    // Only the replay record of the signed non-JSON body is new.
    let changes = before.changes(&mesh.store_snapshot().await);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert!(
        changes[0].starts_with("added idem:netsuite-event-signature:"),
        "{changes:#?}"
    );

    // The signature refused for want of a key was not used up.
    let (status, answer) = post_event(mesh, &body, &headers, Some(NS_KEY)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "created", "{answer}");
}

async fn without_a_secret_events_pass_on_the_api_key_alone(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 0);
    let (status, answer) = mesh.customer_event(&customer_id, "create").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "created", "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 1);
    // Signature headers, even wrong ones, are not looked at.
    let body = customer_event(&customer_id, "edit");
    let t = now().to_string();
    let (status, answer) = post_event(
        mesh,
        &body,
        &[
            ("x-isthmus-timestamp", &t),
            ("x-isthmus-signature", "v1=00"),
        ],
        Some(NS_KEY),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "unchanged", "{answer}");
    let (status, _) = post_event(mesh, &body, &[], None).await;
    assert_eq!(status, 401, "the API key is still required");

    // The OpenAPI document names both headers either way.
    let (status, document) = mesh.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    let parameters = &document["paths"]["/v1/netsuite/events"]["post"]["parameters"];
    for header in ["X-Isthmus-Timestamp", "X-Isthmus-Signature"] {
        assert!(
            parameters
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == header && p["in"] == "header"),
            "{header}: {parameters}"
        );
    }
}

async fn a_changed_query_string_or_route_is_refused_and_changes_nothing(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 2);
    let body = customer_event(&customer_id, "create");
    let t = now();
    let timestamp = t.to_string();
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    // Signed as a dry run, sent as a real sync (and the other way round), queued, or elsewhere.
    for (signed_for, sent_to) in [
        ("/v1/netsuite/events?dry_run=true", "/v1/netsuite/events"),
        (
            "/v1/netsuite/events?dry_run=true",
            "/v1/netsuite/events?dry_run=false",
        ),
        (
            "/v1/netsuite/events?dry_run=true",
            "/v1/netsuite/events?dry_run=true&mode=async",
        ),
        ("/v1/netsuite/events", "/v1/netsuite/events?mode=async"),
    ] {
        let signed = isthmus_tests::sign_event_at(SECRET, t, "POST", signed_for, &body);
        let headers = [
            ("x-isthmus-timestamp", timestamp.as_str()),
            ("x-isthmus-signature", signed.as_str()),
        ];
        let (status, answer) = post_event_to(mesh, sent_to, &body, &headers, Some(NS_KEY)).await;
        assert_refused(
            &format!("signed for {signed_for}, sent to {sent_to}"),
            status,
            &answer,
            "does not match",
            &signed,
        );
    }
    // Signed for another method.
    let signed = isthmus_tests::sign_event_at(SECRET, t, "PUT", EVENTS, &body);
    let headers = [
        ("x-isthmus-timestamp", timestamp.as_str()),
        ("x-isthmus-signature", signed.as_str()),
    ];
    let (status, answer) = post_event(mesh, &body, &headers, Some(NS_KEY)).await;
    assert_refused("signed for PUT", status, &answer, "does not match", &signed);
    // Nothing ran, nothing was remembered.
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_total(), calls.netsuite_total()),
        (0, 0),
        "{calls:?}"
    );
    mesh.assert_store_unchanged(&before).await;
    assert_eq!(accounts_of(mesh, &customer_id), 0);

    // Signed with its query, sent with it: a dry run, which writes nothing.
    let target = "/v1/netsuite/events?dry_run=true";
    let signed = isthmus_tests::sign_event_at(SECRET, t, "POST", target, &body);
    let headers = [
        ("x-isthmus-timestamp", timestamp.as_str()),
        ("x-isthmus-signature", signed.as_str()),
    ];
    let (status, answer) = post_event_to(mesh, target, &body, &headers, Some(NS_KEY)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["dry_run"], true, "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 0);
}

async fn v1_signatures_pass_only_where_configured(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 0);
    let body = customer_event(&customer_id, "create");
    let t = now();
    let timestamp = t.to_string();
    let old = signature_v1(SECRET, t, &body);
    let headers = [
        ("x-isthmus-timestamp", timestamp.as_str()),
        ("x-isthmus-signature", old.as_str()),
    ];
    let (status, answer) = post_event(mesh, &body, &headers, Some(NS_KEY)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "created", "{answer}");
    assert_eq!(accounts_of(mesh, &customer_id), 1);
}

async fn v1_signatures_are_refused_by_default(mesh: &TestMesh) {
    let customer_id = netsuite_only_customer(mesh, 0);
    let body = customer_event(&customer_id, "create");
    let t = now();
    let timestamp = t.to_string();
    let old = signature_v1(SECRET, t, &body);
    let headers = [
        ("x-isthmus-timestamp", timestamp.as_str()),
        ("x-isthmus-signature", old.as_str()),
    ];
    let (status, answer) = post_event(mesh, &body, &headers, Some(NS_KEY)).await;
    assert_refused("a v1 signature", status, &answer, "does not match", &old);
    assert_eq!(accounts_of(mesh, &customer_id), 0);
}

#[test]
fn the_gateway_does_not_start_without_a_secret_unless_told_to() {
    let config = isthmus::Config::load_from(None, Vec::new()).unwrap();
    let secrets = isthmus::Secrets::default();
    let refused = isthmus::wiring::netsuite_event_signing(&config, &secrets).unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("NetSuite events must be signed"),
        "{message}"
    );
    assert!(message.contains("netsuite_events_unsigned"), "{message}");
    let unsigned = isthmus::Config::load_from(
        None,
        vec![(
            "ISTHMUS_GATEWAY__NETSUITE_EVENTS_UNSIGNED".into(),
            "true".into(),
        )],
    )
    .unwrap();
    assert!(isthmus::wiring::netsuite_event_signing(&unsigned, &secrets)
        .unwrap()
        .is_none());
    let with_secret = isthmus::Secrets {
        netsuite_hmac_secret: Some(SecretString::from(SECRET.to_string())),
        ..Default::default()
    };
    let signing = isthmus::wiring::netsuite_event_signing(&config, &with_secret)
        .unwrap()
        .expect("signing");
    assert!(!signing.accepts_v1(), "v1 only when configured");
}

/// Runs `$body` on a mesh from `$start`, once on Redis and once on the in-memory store.
async fn two_saves_in_one_second_are_two_events_by_their_event_ids(mesh: &TestMesh) {
    let customer = netsuite_only_customer(mesh, 1);
    let timestamp = now();
    let body = |event_id: &str| {
        serde_json::to_vec(&json!({ "record_type": "customer", "id": customer,
            "event_type": "edit", "event_id": event_id }))
        .unwrap()
    };
    let (first, answer, _) = post_signed(mesh, timestamp, &body("mifq3k2a-1")).await;
    assert_eq!(first, 200, "{answer}");
    let (second, answer, _) = post_signed(mesh, timestamp, &body("mifq3k2a-2")).await;
    assert_eq!(
        second, 200,
        "same record, same second, another event: {answer}"
    );
    assert_eq!(accounts_of(mesh, &customer), 1);
    // The same event again is still a replay.
    let (again, answer, _) = post_signed(mesh, timestamp, &body("mifq3k2a-2")).await;
    assert_eq!(again, 401, "{answer}");
    // A malformed event id is refused as bad input.
    let (status, answer, _) = post_signed(mesh, timestamp, &body("no spaces, please")).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "INVALID_ARGUMENT", "{answer}");
}

macro_rules! on_both_stores_with {
    ($name:ident, $start:ident, $body:ident) => {
        mod $name {
            use isthmus_tests::StoreKind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_redis() {
                let mesh = super::$start(StoreKind::Redis).await;
                super::$body(&mesh).await;
                mesh.shutdown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_memory() {
                let mesh = super::$start(StoreKind::Memory).await;
                super::$body(&mesh).await;
                mesh.shutdown().await;
            }
        }
    };
}

on_both_stores_with!(
    signed_event,
    signing_mesh,
    a_signed_event_creates_its_account_once_and_a_replay_is_refused
);
on_both_stores_with!(
    refused_events,
    signing_mesh,
    unsigned_forged_stale_and_malformed_events_are_refused_before_anything_runs
);
on_both_stores_with!(
    key_and_limit,
    signing_mesh,
    the_api_key_and_the_body_limit_still_hold_for_signed_events
);
on_both_stores_with!(
    no_secret,
    plain_mesh,
    without_a_secret_events_pass_on_the_api_key_alone
);
on_both_stores_with!(
    event_ids,
    signing_mesh,
    two_saves_in_one_second_are_two_events_by_their_event_ids
);
on_both_stores_with!(
    changed_query,
    signing_mesh,
    a_changed_query_string_or_route_is_refused_and_changes_nothing
);
on_both_stores_with!(
    v1_configured,
    v1_mesh,
    v1_signatures_pass_only_where_configured
);
on_both_stores_with!(
    v1_default,
    signing_mesh,
    v1_signatures_are_refused_by_default
);

//! The gateway's server limits, exercised over real sockets: every status it emits is a JSON
//! error (hyper's own answers included), slow headers, slow bodies and idle connections are
//! cut off, the connection and in-flight caps keep health probes answering, a key past its
//! burst gets 429, and a Salesforce-scoped key cannot spend more than its share of the daily
//! Salesforce allocation (checked on the sandbox's own counter).

use std::time::Duration;

use isthmus_sandbox::{seed, System};
use isthmus_tests::{StoreKind, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY, VIEWER_KEY};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a raw exchange may take before the test fails (never reached when it passes).
const PATIENCE: Duration = Duration::from_secs(20);

/// An HTTP answer read off a raw socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a JSON error answer of `status` and `code`.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.body["code"], code, "{self:?}");
        assert!(
            !self.body["message"].as_str().unwrap_or("").is_empty(),
            "{self:?}"
        );
        assert_eq!(
            self.body["trace_id"].as_str().map(str::len),
            Some(32),
            "{self:?}"
        );
    }
}

fn addr(mesh: &TestMesh) -> String {
    mesh.gateway.trim_start_matches("http://").to_string()
}

/// Reads one answer from `stream`; `None` when the server closed without answering.
async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return Some((head, buf[end + 4..end + 4 + length].to_vec()));
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let (head, body) = tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the gateway answers or closes")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// Sends `request` on a new connection and reads the answer.
async fn exchange(mesh: &TestMesh, request: impl AsRef<[u8]>) -> Answer {
    let mut stream = TcpStream::connect(addr(mesh)).await.expect("connects");
    stream.write_all(request.as_ref()).await.expect("sends");
    read_answer(&mut stream).await.expect("an answer")
}

fn get(path: &str, key: Option<&str>) -> Vec<u8> {
    let auth = key
        .map(|k| format!("authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nhost: gateway\r\n{auth}\r\n").into_bytes()
}

fn post(path: &str, key: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {key}\r\n\
         content-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The server closes `stream` (no answer) within [`PATIENCE`].
async fn assert_closed(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the connection is closed without an answer: {read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_the_gateway_emits_is_a_json_error_and_writes_nothing() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        // The events route's own checks are the test, not its signature.
        c.gateway.netsuite_events_unsigned = true;
    })
    .await;
    // A 100 KB URL: past the `http` crate's URI limit, hyper itself answers; as JSON.
    let long = format!("/v1/links/customers/{}", "a".repeat(100_000));
    exchange(&mesh, &get(&long, Some(ADMIN_KEY)))
        .await
        .assert_error(414, "URI_TOO_LONG");
    // Past max_uri_bytes (8 KiB) but parsable: the gateway's own layer.
    let long = format!("/v1/links/customers/{}", "a".repeat(10_000));
    exchange(&mesh, &get(&long, Some(ADMIN_KEY)))
        .await
        .assert_error(414, "URI_TOO_LONG");
    // A head larger than hyper's buffer.
    let huge = format!("/healthz?{}", "a".repeat(200_000));
    exchange(&mesh, &get(&huge, None))
        .await
        .assert_error(431, "HEADERS_TOO_LARGE");
    // Not HTTP.
    exchange(&mesh, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
        .await
        .assert_error(400, "INVALID_ARGUMENT");
    exchange(&mesh, &get("/v1/nothing-here", Some(ADMIN_KEY)))
        .await
        .assert_error(404, "NOT_FOUND");
    exchange(&mesh, &get("/v1/netsuite/events", Some(NS_KEY)))
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    let event = r#"{"record_type":"customer","id":"126","event_type":"edit"}"#;
    exchange(
        &mesh,
        &post("/v1/netsuite/events", NS_KEY, "text/plain", event),
    )
    .await
    .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let big = format!(
        r#"{{"record_type":"customer","id":"126","event_type":"edit","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    exchange(
        &mesh,
        &post("/v1/netsuite/events", NS_KEY, "application/json", &big),
    )
    .await
    .assert_error(413, "PAYLOAD_TOO_LARGE");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_its_headers_too_slowly_is_closed() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.header_read_timeout_ms = 300
    })
    .await;
    let mut stream = TcpStream::connect(addr(&mesh)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: gat")
        .await
        .unwrap();
    assert_closed(&mut stream).await;
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.header_read_timeout_ms = 60_000;
        c.gateway.idle_timeout_ms = 300;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&mesh)).await.unwrap();
    stream.write_all(&get("/healthz", None)).await.unwrap();
    let answer = read_answer(&mut stream).await.expect("answered");
    assert_eq!(answer.status, 200);
    assert_closed(&mut stream).await;
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_arrives_too_slowly_is_answered_408_and_writes_nothing() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.body_read_timeout_ms = 300;
        c.gateway.netsuite_events_unsigned = true;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&mesh)).await.unwrap();
    let head = format!(
        "POST /v1/netsuite/events HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {NS_KEY}\r\n\
         content-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"record_type\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream).await.expect("answered");
    answer.assert_error(408, "REQUEST_TIMEOUT");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_only_health_probes_are_answered_then_connections_are_closed() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.max_connections = 2;
        c.gateway.header_read_timeout_ms = 60_000;
        c.gateway.idle_timeout_ms = 60_000;
    })
    .await;
    // Two connections hold the cap.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(addr(&mesh)).await.unwrap());
    }
    // Past it, an API request is shed with a JSON 503; the probes still answer.
    let shed = exchange(&mesh, &get("/v1/queue", Some(ADMIN_KEY))).await;
    shed.assert_error(503, "UNAVAILABLE");
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(exchange(&mesh, &get("/healthz", None)).await.status, 200);
    assert_eq!(exchange(&mesh, &get("/readyz", None)).await.status, 200);
    // Past the probes' reserve too, a connection is closed at once.
    let reserve = isthmus_gateway::serve::HEALTH_RESERVE;
    for _ in 0..reserve + 2 {
        held.push(TcpStream::connect(addr(&mesh)).await.unwrap());
    }
    let last = held.last_mut().unwrap();
    last.write_all(&get("/healthz", None)).await.ok();
    assert_closed(last).await;
    // A connection within the cap is served again once one closes.
    drop(held);
    let mut answered = false;
    for _ in 0..200 {
        // Until the gateway has seen the held connections close, a new one may still be refused.
        let mut stream = TcpStream::connect(addr(&mesh)).await.unwrap();
        stream
            .write_all(&get("/v1/queue", Some(ADMIN_KEY)))
            .await
            .ok();
        if read_answer(&mut stream)
            .await
            .is_some_and(|a| a.status == 200)
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "served again after the held connections closed");
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_past_its_burst_is_answered_429_with_retry_after_and_other_keys_go_on() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.rate_limits.admin.rate = 0.01;
        c.gateway.rate_limits.admin.burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            exchange(&mesh, &get("/v1/queue", Some(ADMIN_KEY)))
                .await
                .status,
            200
        );
    }
    let refused = exchange(&mesh, &get("/v1/queue", Some(ADMIN_KEY))).await;
    refused.assert_error(429, "RATE_LIMITED");
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=100).contains(&wait), "{wait}");
    // The viewer key has its own bucket.
    assert_eq!(
        exchange(&mesh, &get("/v1/queue", Some(VIEWER_KEY)))
            .await
            .status,
        200
    );
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_cap_are_shed_with_503_while_health_answers() {
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| c.gateway.max_in_flight = 1).await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    mesh.sandbox
        .set_latency(System::Salesforce, Duration::from_millis(1500));
    let path = format!("/v1/salesforce/accounts/{demo}/sync?dry_run=true");
    let slow = exchange(&mesh, post(&path, SF_KEY, "application/json", ""));
    let shed = async {
        // Wait until the sync holds the only place (its Salesforce call is in flight).
        while mesh.sandbox.counters().salesforce.in_flight == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let shed = exchange(&mesh, &get("/v1/queue", Some(ADMIN_KEY))).await;
        let health = exchange(&mesh, &get("/healthz", None)).await;
        (shed, health)
    };
    let (slow, (shed, health)) = tokio::join!(slow, shed);
    shed.assert_error(503, "UNAVAILABLE");
    assert!(shed.header("retry-after").is_some());
    assert_eq!(health.status, 200);
    assert_eq!(slow.status, 200, "{slow:?}");
    mesh.shutdown().await;
}

/// The org's `(max, used)` daily API allocation, as the sandbox counts it.
fn allocation(mesh: &TestMesh) -> (u64, u64) {
    mesh.sandbox.salesforce_org().api_allocation()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_key_cannot_spend_more_than_its_share_of_the_daily_allocation() {
    let mesh = TestMesh::start_with(StoreKind::Redis, |c| {
        c.gateway.salesforce_key_share = 0.03;
        c.gateway.salesforce_daily_allocation = 1000;
        c.gateway.rate_limits.salesforce.rate = 1000.0;
        c.gateway.rate_limits.salesforce.burst = 1000;
    })
    .await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, used) = allocation(&mesh);
    mesh.sandbox.salesforce_org().set_api_allocation(1000, used);
    // 30 calls a day for the key: five account syncs at their charge of 6.
    let path = format!("/v1/salesforce/accounts/{demo}/sync?dry_run=true");
    let clicks = (0..20).map(|_| exchange(&mesh, post(&path, SF_KEY, "application/json", "")));
    let answers = futures::future::join_all(clicks).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 5, "{answers:?}");
    for refused in answers.iter().filter(|a| a.status != 200) {
        refused.assert_error(429, "RATE_LIMITED");
        assert!(refused.header("retry-after").is_some());
    }
    let (_, after) = allocation(&mesh);
    assert!(
        after - used <= 30,
        "the key spent {} Salesforce calls",
        after - used
    );
    assert!(after > used, "the admitted syncs really called Salesforce");
    // The budget is counted in the store every replica shares.
    let keys = mesh.redis_keys("*salesforce-budget*").await.expect("Redis");
    assert_eq!(keys.len(), 1, "{keys:?}");
    // Another key still gets through, and really calls Salesforce.
    let answer = exchange(&mesh, &post(&path, ADMIN_KEY, "application/json", "")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(allocation(&mesh).1 > after);
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_sync_spends_no_more_salesforce_calls_than_it_is_charged() {
    let mesh = TestMesh::start(StoreKind::Memory).await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    for dry_run in [true, false] {
        let (_, before) = allocation(&mesh);
        let query = if dry_run { "?dry_run=true" } else { "" };
        let path = format!("/v1/salesforce/accounts/{demo}/sync{query}");
        let answer = exchange(&mesh, &post(&path, SF_KEY, "application/json", "")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let spent = allocation(&mesh).1 - before;
        assert!(
            (1..=6).contains(&spent),
            "dry_run={dry_run}: {spent} calls for a charge of 6"
        );
    }
    let (_, before) = allocation(&mesh);
    let answer = exchange(
        &mesh,
        &get(
            &format!("/v1/salesforce/records/{demo}/status"),
            Some(SF_KEY),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(allocation(&mesh).1 - before <= 2);
    mesh.shutdown().await;
}

use std::time::Duration;

use super::*;

fn tba() -> NetSuiteAuth {
    NetSuiteAuth::Tba {
        consumer_key: "ck".into(),
        consumer_secret: "consumer-secret-value".into(),
        token_id: "tk".into(),
        token_secret: "token-secret-value".into(),
    }
}

fn config() -> NetSuiteConfig {
    NetSuiteConfig {
        timeout: Duration::from_secs(5),
        ..NetSuiteConfig::new("123456_SB1", tba())
    }
}

#[test]
fn urls_encode_every_segment() {
    let client = NetSuiteClient::new(config()).unwrap();
    let url = client
        .url(
            &["record", "v1", "customer", "12/../x?y"],
            &[("replace", "addressBook,contacts")],
        )
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer/\
         12%2F..%2Fx%3Fy?replace=addressBook%2Ccontacts"
    );
}

#[test]
fn config_errors_are_caught_at_construction() {
    let mut bad = config();
    bad.account_id = "123 456".into();
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
    let mut bad = config();
    bad.auth = NetSuiteAuth::Tba {
        consumer_key: "ck".into(),
        consumer_secret: "cs".into(),
        token_id: "tk".into(),
        token_secret: "".into(),
    };
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
    let mut bad = config();
    bad.base_url = Some("not a url".into());
    assert!(matches!(
        NetSuiteClient::new(bad),
        Err(NetSuiteError::Config(_))
    ));
}

#[test]
fn client_debug_shows_no_secrets() {
    let shown = format!("{:?}", NetSuiteClient::new(config()).unwrap());
    assert!(!shown.contains("secret-value"), "{shown}");
    assert!(shown.contains("123456_SB1"));
}

#[test]
fn client_and_its_futures_can_cross_threads() {
    fn send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = NetSuiteClient::new(config()).unwrap();
    send_sync_clone(&client);
    send(&client.suiteql("SELECT id FROM customer"));
    send(&client.upsert("customer", "X", &Map::new(), &[]));
    send(&client.list_all("customer", None));
}

#[test]
fn transform_urls_keep_the_bang() {
    let client = NetSuiteClient::new(config()).unwrap();
    let url = client
        .url(
            &["record", "v1", "salesOrder", "7", "!transform", "invoice"],
            &[],
        )
        .unwrap();
    assert!(
        url.as_str()
            .ends_with("/record/v1/salesOrder/7/!transform/invoice"),
        "{url}"
    );
}

#[test]
fn links_to_another_origin_are_refused() {
    let client = NetSuiteClient::new(config()).unwrap();
    let own = "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer?offset=1000";
    assert_eq!(client.same_origin(own).unwrap().as_str(), own);
    assert!(matches!(
        client.same_origin("https://evil.example/services/rest/record/v1/customer"),
        Err(NetSuiteError::Decode(_))
    ));
}

mod transport {
    //! The send path against a canned HTTP server: gate slots, concurrency retries, drops.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::gate::ConcurrencyGate;
    use crate::retry::ConcurrencyRetry;

    /// Counts slots handed out and given back, and the most held at once.
    #[derive(Default)]
    struct CountingGate {
        acquired: AtomicUsize,
        released: AtomicUsize,
        held: AtomicUsize,
        peak: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl ConcurrencyGate for CountingGate {
        async fn acquire(&self) -> Result<String, NetSuiteError> {
            let n = self.acquired.fetch_add(1, Ordering::SeqCst);
            let held = self.held.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(held, Ordering::SeqCst);
            Ok(format!("slot-{n}"))
        }

        async fn release(&self, _slot: String) {
            self.held.fetch_sub(1, Ordering::SeqCst);
            self.released.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Answers the n-th request with `answers[n]` (the last one repeats); `None` never answers.
    async fn server(answers: Vec<Option<&'static str>>) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let answer = answers[n.min(answers.len() - 1)];
                tokio::spawn(async move {
                    let mut buf = vec![0; 65536];
                    let _ = socket.read(&mut buf).await;
                    match answer {
                        Some(answer) => {
                            let _ = socket.write_all(answer.as_bytes()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(60)).await,
                    }
                });
            }
        });
        (origin, count)
    }

    const TOO_MANY: &str = "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 0\r\nContent-Type: application/json\r\nContent-Length: 91\r\n\r\n{\"status\":429,\"o:errorDetails\":[{\"detail\":\"x\",\"o:errorCode\":\"CONCURRENCY_LIMIT_EXCEEDED\"}]}";
    const OK: &str = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"companyName\":\"Ac\"}";
    const BAD_LOGIN: &str = "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 78\r\n\r\n{\"status\":401,\"o:errorDetails\":[{\"detail\":\"x\",\"o:errorCode\":\"INVALID_LOGIN\"}]}";

    fn client(origin: String, max_retries: u32) -> (NetSuiteClient, Arc<CountingGate>) {
        let gate = Arc::new(CountingGate::default());
        let client = NetSuiteClient::new(NetSuiteConfig {
            base_url: Some(origin),
            concurrency_retry: ConcurrencyRetry {
                max_retries,
                base: Duration::from_millis(1),
                cap: Duration::from_millis(5),
                invalid_login_after: None,
            },
            ..config()
        })
        .unwrap()
        .with_gate(gate.clone());
        (client, gate)
    }

    #[tokio::test]
    async fn concurrency_refusals_are_retried_with_the_slot_given_back_between() {
        let (origin, requests) = server(vec![Some(TOO_MANY), Some(TOO_MANY), Some(OK)]).await;
        let (client, gate) = client(origin, 5);

        let record = client
            .get("customer", "7", &GetOptions::default())
            .await
            .unwrap();

        assert_eq!(record["companyName"], "Ac");
        assert_eq!(requests.load(Ordering::SeqCst), 3);
        assert_eq!(client.concurrency_retries(), 2);
        assert_eq!(gate.acquired.load(Ordering::SeqCst), 3);
        assert_eq!(gate.released.load(Ordering::SeqCst), 3);
        assert_eq!(
            gate.peak.load(Ordering::SeqCst),
            1,
            "a slot was held while waiting"
        );
    }

    #[tokio::test]
    async fn retries_stop_at_the_configured_count() {
        let (origin, requests) = server(vec![Some(TOO_MANY)]).await;
        let (client, gate) = client(origin, 2);

        let err = client
            .get("customer", "7", &GetOptions::default())
            .await
            .unwrap_err();

        assert_eq!(err.class(), crate::ErrorClass::Limit);
        assert_eq!(err.status(), Some(429));
        assert_eq!(requests.load(Ordering::SeqCst), 3);
        assert_eq!(gate.released.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn invalid_login_is_not_retried_unless_configured() {
        let (origin, requests) = server(vec![Some(BAD_LOGIN)]).await;
        let (client, gate) = client(origin, 5);

        let err = client
            .get("customer", "7", &GetOptions::default())
            .await
            .unwrap_err();

        assert_eq!(err.error_code(), Some("INVALID_LOGIN"));
        assert_eq!(requests.load(Ordering::SeqCst), 1);
        assert_eq!(client.concurrency_retries(), 0);
        assert_eq!(gate.released.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn slot_is_released_when_the_call_is_dropped_mid_flight() {
        let (origin, _) = server(vec![None]).await;
        let (client, gate) = client(origin, 5);

        let options = GetOptions::default();
        let call = client.get("customer", "7", &options);
        let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
        assert!(outcome.is_err(), "the silent server answered");
        assert_eq!(gate.acquired.load(Ordering::SeqCst), 1);

        // The release runs on a spawned task.
        for _ in 0..100 {
            if gate.released.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(gate.released.load(Ordering::SeqCst), 1);
        assert_eq!(gate.held.load(Ordering::SeqCst), 0);
    }
}

//! Test support (feature `testing`): a Redis to run tests against.
//!
//! [`RedisServer::start`] uses `REDIS_URL` when it is set (each call gets its own connection
//! name, hence its own keys, so tests never collide on a shared server); otherwise it spawns a
//! throwaway `redis-server` on a free `127.0.0.1` port, without persistence, and kills it on
//! drop. Fixtures fail loudly: they panic with what to install or set.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::RedisStore;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;

/// A connection name no other test (in this or another process) uses.
pub fn unique_connection_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "test-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A Redis for one test: `REDIS_URL`, or a `redis-server` child killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    url: String,
    connection: String,
    child: Option<Child>,
}

impl RedisServer {
    /// Uses `REDIS_URL` when set, else spawns `redis-server`.
    ///
    /// # Panics
    /// When neither works, with a message saying to install `redis-server` or set `REDIS_URL`.
    pub fn start() -> Self {
        let connection = unique_connection_name();
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Self {
                url,
                connection,
                child: None,
            };
        }
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            match spawn_on_free_port() {
                Ok((url, child)) => {
                    return Self {
                        url,
                        connection,
                        child: Some(child),
                    }
                }
                Err(error) => last_error = error,
            }
        }
        panic!(
            "no Redis for the tests: {last_error}. Install redis-server \
             (e.g. `apt-get install redis-server`) or set REDIS_URL=redis://host:port"
        );
    }

    /// `redis://127.0.0.1:<port>` (or `REDIS_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection name reserved for this test.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// A [`RedisStore`] on this server under [`Self::connection`].
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn store(&self) -> RedisStore {
        self.store_for(&self.connection).await
    }

    /// A [`RedisStore`] on this server under another connection name.
    ///
    /// # Panics
    /// When the server cannot be reached or the name is invalid.
    pub async fn store_for(&self, connection: &str) -> RedisStore {
        RedisStore::connect(&self.url, connection)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to Redis at {}: {e}", self.url))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Best effort: the process may already be gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Spawns `redis-server` on a port that was free a moment ago and waits for `PING`.
fn spawn_on_free_port() -> Result<(String, Child), String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run redis-server: {e}"))?;
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if answers_ping(&url) {
            return Ok((url, child));
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || started.elapsed() > STARTUP_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("redis-server did not answer on port {port}"));
        }
        sleep(Duration::from_millis(20));
    }
}

fn answers_ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    client
        .get_connection_with_timeout(Duration::from_millis(200))
        .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
        .is_ok()
}

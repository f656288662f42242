//! Test support (feature `testing`): a Redis to run tests against.
//!
//! [`RedisServer::start`] uses `REDIS_URL` when it is set (each call gets its own connection
//! name, hence its own keys, so tests never collide on a shared server); otherwise it spawns a
//! throwaway `redis-server` on a free `127.0.0.1` port, without persistence, and kills it on
//! drop. Fixtures fail loudly: they panic with what to install or set.
//!
//! [`RedisServer::spawn_durable`] is for tests that take Redis down mid-run: it always spawns its
//! own server, with an append-only file synced on every write in a directory of its own, so
//! [`RedisServer::stop`] (a `SIGKILL`, like a crash) followed by [`RedisServer::resume`] (same
//! port, same data) loses nothing Redis acknowledged, as a production Redis with AOF would.

use std::net::TcpListener;
use std::path::PathBuf;
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
    /// How to start the child again: set only for a server spawned by [`Self::spawn_durable`].
    durable: Option<Durable>,
}

/// The port and the data directory a durable server restarts with.
#[derive(Debug)]
struct Durable {
    port: u16,
    dir: PathBuf,
}

impl Durable {
    /// Persistence on, synced on every write, in the server's own directory.
    fn args(&self) -> Vec<String> {
        let aof = [
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ];
        let mut args: Vec<String> = aof.map(str::to_string).to_vec();
        args.extend(["--dir".to_string(), self.dir.display().to_string()]);
        args
    }
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
                durable: None,
            };
        }
        let (port, child) = spawn_on_free_port(&[]);
        Self {
            url: url_of(port),
            connection,
            child: Some(child),
            durable: None,
        }
    }

    /// Spawns a `redis-server` of its own (whatever `REDIS_URL` says) that keeps its data in an
    /// append-only file synced on every write, so it can be [stopped](Self::stop) and
    /// [resumed](Self::resume) with its data, as a crash and restart of a production Redis.
    ///
    /// # Panics
    /// When `redis-server` cannot be run or its data directory cannot be made.
    pub fn spawn_durable() -> Self {
        let connection = unique_connection_name();
        let dir = std::env::temp_dir().join(format!("isthmus-redis-{connection}"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
        let mut durable = Durable { port: 0, dir };
        let (port, child) = spawn_on_free_port(&durable.args());
        durable.port = port;
        Self {
            url: url_of(port),
            connection,
            child: Some(child),
            durable: Some(durable),
        }
    }

    /// Kills the server (`SIGKILL`: no shutdown, no final save) and waits until it is gone.
    ///
    /// # Panics
    /// When the server was not spawned by [`Self::spawn_durable`].
    pub fn stop(&mut self) {
        assert!(
            self.durable.is_some(),
            "only a durable server can be stopped"
        );
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a [stopped](Self::stop) server again on its port with its data; returns once it
    /// answers `PING`. A no-op while it runs.
    ///
    /// # Panics
    /// When the server was not spawned by [`Self::spawn_durable`] or does not come back.
    pub fn resume(&mut self) {
        let durable = self
            .durable
            .as_ref()
            .expect("only a durable server can be resumed");
        if self.child.is_none() {
            let child = spawn(durable.port, &durable.args())
                .unwrap_or_else(|e| panic!("restarting Redis: {e}"));
            self.child = Some(child);
        }
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
        if let Some(durable) = &self.durable {
            let _ = std::fs::remove_dir_all(&durable.dir);
        }
    }
}

fn url_of(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// Spawns `redis-server` with `args` (default: no persistence) on a port that was free a moment
/// ago, trying a few ports; returns the port and the child once it answers `PING`.
///
/// # Panics
/// When no attempt works, saying what to install or set.
fn spawn_on_free_port(args: &[String]) -> (u16, Child) {
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port());
        match port {
            Ok(port) => match spawn(port, args) {
                Ok(child) => return (port, child),
                Err(error) => last_error = error,
            },
            Err(error) => last_error = format!("no free port: {error}"),
        }
    }
    panic!(
        "no Redis for the tests: {last_error}. Install redis-server \
         (e.g. `apt-get install redis-server`) or set REDIS_URL=redis://host:port"
    );
}

/// Spawns `redis-server` on `port` with `args` (none: no persistence) and waits for `PING`.
fn spawn(port: u16, args: &[String]) -> Result<Child, String> {
    let mut command = Command::new("redis-server");
    command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    if args.is_empty() {
        command.args(["--save", "", "--appendonly", "no"]);
    } else {
        command.args(args);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run redis-server: {e}"))?;
    let url = url_of(port);
    let started = Instant::now();
    loop {
        if answers_ping(&url) {
            return Ok(child);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(server: &RedisServer) -> redis::Connection {
        redis::Client::open(server.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("redis connects")
    }

    #[test]
    fn a_durable_server_keeps_what_it_acknowledged_across_a_crash_and_restart() {
        let mut server = RedisServer::spawn_durable();
        let _: () = redis::cmd("SET")
            .arg("kept")
            .arg("yes")
            .query(&mut connect(&server))
            .unwrap();
        server.stop();
        assert!(!answers_ping(server.url()), "the server is down");
        server.resume();
        let kept: Option<String> = redis::cmd("GET")
            .arg("kept")
            .query(&mut connect(&server))
            .unwrap();
        assert_eq!(kept.as_deref(), Some("yes"));
    }
}

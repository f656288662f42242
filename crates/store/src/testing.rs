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
//!
//! The other shapes a production Redis takes are spawned too, always as servers of their own:
//! [`RedisServer::spawn_tls`] (TLS only, certificates minted by [`TestCertificates`], client
//! certificates optionally required), [`RedisServer::spawn_with_acl_user`] (the default user
//! off, one ACL user with a password), [`SentinelSet`] (a master, replicas and sentinels) and
//! [`RedisCluster`] (three masters joined by `redis-cli --cluster create`). Every process is
//! killed, and every file removed, on drop.

mod certificates;
mod cluster;
mod sentinel;
mod snapshot;

pub use certificates::TestCertificates;
pub use cluster::RedisCluster;
pub use sentinel::SentinelSet;
pub use snapshot::{KeySnapshot, StoreSnapshot};

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{RedisStore, RedisTls};

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
    /// The client side's TLS files (none for a plaintext server).
    tls: RedisTls,
    child: Option<Child>,
    /// How to start the child again: set only for a server spawned by [`Self::spawn_durable`].
    durable: Option<Durable>,
    /// Files of this server alone (certificates), removed on drop.
    files: Option<PathBuf>,
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
                tls: RedisTls::default(),
                child: None,
                durable: None,
                files: None,
            };
        }
        let (port, child) = spawn_on_free_port(&|port| plain_args(port, &[]), &url_of, &NO_TLS);
        Self {
            url: url_of(port),
            connection,
            tls: RedisTls::default(),
            child: Some(child),
            durable: None,
            files: None,
        }
    }

    /// Spawns a `redis-server` that speaks TLS only (`rediss://127.0.0.1:<port>`), with
    /// certificates minted for it; when `require_client_certificate`, it refuses clients
    /// without a certificate its CA signed (`tls-auth-clients yes`). [`Self::tls`] holds the
    /// client side's files: the CA, plus the client certificate and key when required.
    ///
    /// # Panics
    /// When `redis-server` cannot be run.
    pub fn spawn_tls(require_client_certificate: bool) -> Self {
        let connection = unique_connection_name();
        let dir = own_dir(&connection);
        let certificates = TestCertificates::mint(&dir);
        // The probe always has the client certificate: it checks the server runs, not its policy.
        let probe_tls = certificates.client_files(true);
        let (port, child) = spawn_on_free_port(
            &|port| certificates.server_args(port, require_client_certificate),
            &|port| format!("rediss://127.0.0.1:{port}"),
            &probe_tls,
        );
        Self {
            url: format!("rediss://127.0.0.1:{port}"),
            connection,
            tls: certificates.client_files(require_client_certificate),
            child: Some(child),
            durable: None,
            files: Some(dir),
        }
    }

    /// Spawns a `redis-server` whose default user is off and whose one ACL user `user` signs in
    /// with `password` (all keys, all commands); [`Self::url`] carries both.
    ///
    /// # Panics
    /// When `redis-server` cannot be run.
    pub fn spawn_with_acl_user(user: &str, password: &str) -> Self {
        let connection = unique_connection_name();
        let acl: Vec<String> = [
            "--user",
            "default",
            "off",
            "--user",
            user,
            "on",
            &format!(">{password}"),
            "~*",
            "&*",
            "+@all",
        ]
        .map(str::to_string)
        .to_vec();
        let url = |port: u16| format!("redis://{user}:{password}@127.0.0.1:{port}");
        let (port, child) = spawn_on_free_port(&|port| plain_args(port, &acl), &url, &NO_TLS);
        Self {
            url: url(port),
            connection,
            tls: RedisTls::default(),
            child: Some(child),
            durable: None,
            files: None,
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
        let (port, child) =
            spawn_on_free_port(&|port| plain_args(port, &durable.args()), &url_of, &NO_TLS);
        durable.port = port;
        Self {
            url: url_of(port),
            connection,
            tls: RedisTls::default(),
            child: Some(child),
            durable: Some(durable),
            files: None,
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
            let args = plain_args(durable.port, &durable.args());
            let child = spawn(&args, &url_of(durable.port), &NO_TLS)
                .unwrap_or_else(|e| panic!("restarting Redis: {e}"));
            self.child = Some(child);
        }
    }

    /// `redis://127.0.0.1:<port>` (or `REDIS_URL`); `rediss://…` for a TLS server, with the
    /// user and password for an ACL server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TLS files a client of this server uses (all empty for a plaintext server).
    pub fn tls(&self) -> &RedisTls {
        &self.tls
    }

    /// A plain `redis` client of this server (with its TLS files), to look at keys directly.
    ///
    /// # Panics
    /// When the TLS files cannot be read.
    pub fn client(&self) -> redis::Client {
        client_for(&self.url, &self.tls).expect("a client of the test Redis")
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
        RedisStore::connect_with(&self.url, &self.tls, connection)
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
        if let Some(dir) = &self.files {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const NO_TLS: RedisTls = RedisTls {
    ca_file: None,
    cert_file: None,
    key_file: None,
};

/// A fresh directory under the system's temporary one, for the files of one test's servers.
fn own_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isthmus-redis-{name}"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
    dir
}

/// `--port <port>` on loopback, then `extra` (none: no persistence).
fn plain_args(port: u16, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
    ];
    if extra.is_empty() {
        args.extend(["--save", "", "--appendonly", "no"].map(str::to_string));
    } else {
        args.extend_from_slice(extra);
    }
    args
}

/// A client of `url` with the TLS files `tls` (the system's roots when none are named).
fn client_for(url: &str, tls: &RedisTls) -> Result<redis::Client, String> {
    if !url.starts_with("rediss") {
        return redis::Client::open(url).map_err(|e| e.to_string());
    }
    crate::redis_store::ensure_crypto_provider();
    let read = |path: &Option<PathBuf>| {
        path.as_ref()
            .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
            .transpose()
    };
    let client_tls = match (read(&tls.cert_file)?, read(&tls.key_file)?) {
        (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig {
            client_cert,
            client_key,
        }),
        _ => None,
    };
    let certificates = redis::TlsCertificates {
        client_tls,
        root_cert: read(&tls.ca_file)?,
    };
    redis::Client::build_with_tls(url, certificates).map_err(|e| e.to_string())
}

pub(crate) fn url_of(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// Spawns `redis-server` with `args(port)` on a port that was free a moment ago, trying a few
/// ports; returns the port and the child once `url(port)` answers `PING` (with `tls`).
///
/// # Panics
/// When no attempt works, saying what to install or set.
pub(crate) fn spawn_on_free_port(
    args: &dyn Fn(u16) -> Vec<String>,
    url: &dyn Fn(u16) -> String,
    tls: &RedisTls,
) -> (u16, Child) {
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port());
        match port {
            Ok(port) => match spawn(&args(port), &url(port), tls) {
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

/// Spawns `redis-server` with `args` and waits until `url` answers `PING` (with `tls`).
pub(crate) fn spawn(args: &[String], url: &str, tls: &RedisTls) -> Result<Child, String> {
    let client = client_for(url, tls)?;
    let mut child = Command::new("redis-server")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run redis-server: {e}"))?;
    let started = Instant::now();
    loop {
        if client_answers_ping(&client) {
            return Ok(child);
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || started.elapsed() > STARTUP_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("redis-server {args:?} did not answer"));
        }
        sleep(Duration::from_millis(20));
    }
}

pub(crate) fn client_answers_ping(client: &redis::Client) -> bool {
    client
        .get_connection_with_timeout(Duration::from_millis(200))
        .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers_ping(url: &str) -> bool {
        redis::Client::open(url).is_ok_and(|client| client_answers_ping(&client))
    }

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

//! [`SentinelSet`]: a master, its replicas and the sentinels watching them, spawned for one test
//! (plaintext, no persistence) and killed on drop. [`SentinelSet::fail_over`] has the sentinels
//! promote a replica and waits until the change is complete: the new master serves, the old one
//! has been turned into its replica, and the sentinels name the new one.

use std::path::PathBuf;
use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{own_dir, plain_args, spawn_on_free_port, unique_connection_name, url_of, NO_TLS};
use crate::RedisStore;

/// The name the sentinels know the master by.
pub const SENTINEL_MASTER: &str = "isthmus";

/// How long the set may take to settle (sentinels discovering replicas, a failover).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A master, replicas and sentinels for one test.
#[derive(Debug)]
pub struct SentinelSet {
    connection: String,
    /// The master the set started with, then the replicas.
    servers: Vec<(u16, Child)>,
    sentinels: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl SentinelSet {
    /// Spawns a master with `replicas` replicas and `sentinels` sentinels (a majority of them
    /// is the quorum) and waits until every sentinel knows every replica.
    ///
    /// # Panics
    /// When a process cannot be started or the set does not settle.
    pub fn spawn(replicas: usize, sentinels: usize) -> Self {
        let connection = unique_connection_name();
        let dir = own_dir(&connection);
        // No persistence; a replica still writes the copy it syncs from its master: into `dir`.
        let mut no_persistence = ["--save", "", "--appendonly", "no", "--dir"]
            .map(str::to_string)
            .to_vec();
        no_persistence.push(dir.display().to_string());
        let master =
            spawn_on_free_port(&|port| plain_args(port, &no_persistence), &url_of, &NO_TLS);
        let master_port = master.0;
        let mut servers = vec![master];
        for _ in 0..replicas {
            let mut args = no_persistence.clone();
            args.extend([
                "--replicaof".into(),
                "127.0.0.1".into(),
                master_port.to_string(),
            ]);
            servers.push(spawn_on_free_port(
                &|port| {
                    let mut args = args.clone();
                    args.extend(["--dbfilename".into(), format!("replica-{port}.rdb")]);
                    plain_args(port, &args)
                },
                &url_of,
                &NO_TLS,
            ));
        }
        let quorum = sentinels / 2 + 1;
        let sentinels = (0..sentinels)
            .map(|n| {
                let config = dir.join(format!("sentinel-{n}.conf"));
                spawn_on_free_port(
                    &|port| {
                        let text = format!(
                            "port {port}\nbind 127.0.0.1\ndir {}\n\
                             sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master_port} {quorum}\n\
                             sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n\
                             sentinel failover-timeout {SENTINEL_MASTER} 10000\n",
                            dir.display()
                        );
                        std::fs::write(&config, text).expect("sentinel config");
                        vec![config.display().to_string(), "--sentinel".into()]
                    },
                    &url_of,
                    &NO_TLS,
                )
            })
            .collect();
        let set = Self {
            connection,
            servers,
            sentinels,
            dir,
        };
        set.settle("every sentinel knows every replica", || {
            set.sentinels
                .iter()
                .all(|(port, _)| healthy_replicas(*port).is_some_and(|healthy| healthy == replicas))
        });
        set
    }

    /// `redis+sentinel://127.0.0.1:<sentinel>,…/isthmus`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+sentinel://{}/{SENTINEL_MASTER}", hosts.join(","))
    }

    /// The connection name reserved for this test.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// A [`RedisStore`] on the set under [`Self::connection`].
    ///
    /// # Panics
    /// When the set cannot be reached.
    pub async fn store(&self) -> RedisStore {
        RedisStore::connect(&self.url(), &self.connection)
            .await
            .unwrap_or_else(|e| panic!("cannot connect through the sentinels: {e}"))
    }

    /// The port of the master the first sentinel names.
    ///
    /// # Panics
    /// When the sentinel does not answer.
    pub fn master_port(&self) -> u16 {
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(SENTINEL_MASTER)
            .query(&mut connect(self.sentinels[0].0).expect("a sentinel answers"))
            .expect("the sentinel names the master");
        port
    }

    /// A plain client of the server on `port` (a master or a replica of the set).
    ///
    /// # Panics
    /// Never for a port of the set.
    pub fn server_client(&self, port: u16) -> redis::Client {
        redis::Client::open(url_of(port)).expect("a loopback URL")
    }

    /// Has the sentinels promote a replica once it has every write of the master, and waits
    /// until the new master serves, the old one replicates it, and the sentinels name the new
    /// one. Returns the new master's port.
    ///
    /// # Panics
    /// When the set has no replica or the failover does not complete.
    pub fn fail_over(&self) -> u16 {
        let old = self.master_port();
        self.settle("every replica has every write", || {
            let offset = info_field(old, "replication", "master_repl_offset");
            self.servers
                .iter()
                .filter(|(port, _)| *port != old)
                .all(|(port, _)| info_field(*port, "replication", "slave_repl_offset") == offset)
        });
        let _: String = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(SENTINEL_MASTER)
            .query(&mut connect(self.sentinels[0].0).expect("a sentinel answers"))
            .expect("the sentinel starts a failover");
        self.settle("the failover completes", || {
            let new = self.master_port();
            new != old
                && self
                    .sentinels
                    .iter()
                    .all(|(port, _)| master_named_by(*port) == Some(new))
                && role(new).as_deref() == Some("master")
                && role(old).as_deref() == Some("slave")
        });
        self.master_port()
    }

    fn settle(&self, what: &str, done: impl Fn() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(
                started.elapsed() < SETTLE_TIMEOUT,
                "the sentinel set did not settle: {what}"
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        for (_, child) in self.sentinels.iter_mut().chain(self.servers.iter_mut()) {
            // Best effort: the process may already be gone.
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url_of(port))?.get_connection_with_timeout(Duration::from_secs(2))
}

/// How many replicas sentinel `port` sees as healthy (role `slave`, link to the master up).
fn healthy_replicas(port: u16) -> Option<usize> {
    let replicas: Vec<Vec<String>> = redis::cmd("SENTINEL")
        .arg("REPLICAS")
        .arg(SENTINEL_MASTER)
        .query(&mut connect(port).ok()?)
        .ok()?;
    let field = |replica: &[String], name: &str| {
        replica
            .chunks(2)
            .find(|pair| pair[0] == name)
            .map(|pair| pair[1].clone())
    };
    Some(
        replicas
            .iter()
            .filter(|replica| {
                field(replica, "flags").as_deref() == Some("slave")
                    && field(replica, "master-link-status").as_deref() == Some("ok")
            })
            .count(),
    )
}

fn master_named_by(sentinel: u16) -> Option<u16> {
    let (_, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(SENTINEL_MASTER)
        .query(&mut connect(sentinel).ok()?)
        .ok()?;
    Some(port)
}

/// `ROLE`'s first element: `master` or `slave`.
fn role(port: u16) -> Option<String> {
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut connect(port).ok()?).ok()?;
    match role.first()? {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        redis::Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// One `field:value` line of `INFO <section>` on `port`.
fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query(&mut connect(port).ok()?)
        .ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_owned())
}

//! [`RedisCluster`]: three masters joined by `redis-cli --cluster create`, spawned for one test
//! (plaintext, no persistence) and killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{own_dir, plain_args, spawn, unique_connection_name, url_of, NO_TLS};
use crate::RedisStore;

const MASTERS: usize = 3;
/// A node's cluster bus listens on its port plus this.
const BUS_OFFSET: u16 = 10_000;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A three-master Redis Cluster for one test.
#[derive(Debug)]
pub struct RedisCluster {
    connection: String,
    nodes: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Spawns three cluster-enabled servers, joins them (`redis-cli --cluster create`, every
    /// slot assigned) and waits until each reports `cluster_state:ok`.
    ///
    /// # Panics
    /// When a process cannot be started or the cluster does not form.
    pub fn spawn() -> Self {
        let connection = unique_connection_name();
        let dir = own_dir(&connection);
        let mut cluster = Self {
            connection,
            nodes: Vec::new(),
            dir,
        };
        while cluster.nodes.len() < MASTERS {
            let port = free_node_port();
            let mut extra: Vec<String> =
                ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]
                    .map(str::to_string)
                    .to_vec();
            extra.extend([
                "--cluster-config-file".into(),
                cluster
                    .dir
                    .join(format!("nodes-{port}.conf"))
                    .display()
                    .to_string(),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                "no".into(),
            ]);
            // A port taken in between is simply tried again with another.
            if let Ok(child) = spawn(&plain_args(port, &extra), &url_of(port), &NO_TLS) {
                cluster.nodes.push((port, child));
            }
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for (port, _) in &cluster.nodes {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let status = create
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs (install redis-tools)");
        assert!(status.success(), "redis-cli --cluster create failed");
        let started = Instant::now();
        while !cluster.nodes.iter().all(|(port, _)| state_ok(*port)) {
            assert!(
                started.elapsed() < SETTLE_TIMEOUT,
                "the cluster did not reach cluster_state:ok"
            );
            sleep(Duration::from_millis(100));
        }
        cluster
    }

    /// `redis+cluster://127.0.0.1:<port>,…` naming every node.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// The connection name reserved for this test.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// The nodes' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// A [`RedisStore`] on the cluster under [`Self::connection`].
    ///
    /// # Panics
    /// When the cluster cannot be reached.
    pub async fn store(&self) -> RedisStore {
        RedisStore::connect(&self.url(), &self.connection)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the cluster: {e}"))
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            // Best effort: the process may already be gone.
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free now whose bus port (plus [`BUS_OFFSET`]) is free too.
fn free_node_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free port");
        let Some(bus) = port.checked_add(BUS_OFFSET) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", bus)).is_ok() {
            return port;
        }
    }
}

fn state_ok(port: u16) -> bool {
    let info = redis::Client::open(url_of(port))
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
        .and_then(|mut connection| {
            redis::cmd("CLUSTER")
                .arg("INFO")
                .query::<String>(&mut connection)
        });
    info.is_ok_and(|info| info.lines().any(|line| line.trim() == "cluster_state:ok"))
}

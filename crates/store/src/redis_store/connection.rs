//! How the store reaches Redis, whatever its shape: one server, the master a set of Sentinels
//! names, or a Cluster. [`Connector`] turns the URL and the TLS files into a topology and opens
//! [`Connection`]s; a `Connection` is a `redis::aio::ConnectionLike`, so every command and
//! script of the store runs unchanged on any shape.
//!
//! # URLs
//! - `redis://[user:pass@]host:port[/db]`, `rediss://…` with TLS: one server.
//! - `redis+sentinel://[user:pass@]host:port[,host:port…]/<master>[/<db>]`
//!   (`rediss+sentinel://` with TLS to the sentinels and the servers): the master the sentinels
//!   name. The credentials are the servers' (an ACL user); sentinels are asked without.
//! - `redis+cluster://[user:pass@]host:port[,host:port…]` (`rediss+cluster://`): a Cluster,
//!   given by some of its nodes.
//!
//! # TLS
//! [`RedisTls`] names a CA file (empty: the system's roots) and, for servers that demand one
//! (`tls-auth-clients yes`), a client certificate with its key. The files are read once, at
//! connect; their contents are never printed. TLS files with a `redis://` URL are refused, so a
//! plaintext connection is never taken for a protected one.
//!
//! # What each shape guarantees
//! - One server: a `ConnectionManager`; a call that meets a lost connection fails, and the
//!   manager reconnects for the next ones.
//! - Sentinel: the shared connection goes to the master the sentinels name. A call that fails
//!   on a broken connection, or that a demoted master refuses (`READONLY`), drops it, and the
//!   next call asks the sentinels again. A call refused with `READONLY` (so not run) is retried
//!   once on the new master; a call whose connection broke midway is not (it may have run).
//! - Cluster: every key of a connection carries one hash tag, so all sit in one slot: the
//!   multi-key scripts stay legal and each command is routed by its first key. The only
//!   keyless command, the `SCAN` that indexes links, is sent to the master of that slot
//!   ([`Connection::scan`]).
//!
//! On every shape a command of the shared connection waits [`RESPONSE_TIMEOUT`] for its answer.
//! Dedicated connections (for the waiters' blocking reads) are opened the same way, with the
//! same TLS files and credentials, and without a response timeout of their own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, ClientTlsConfig, Cmd, ConnectionInfo, ErrorKind, FromRedisValue,
    IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, ServerErrorKind, TlsCertificates,
    TlsMode, Value,
};
use tokio::sync::Mutex;

use crate::{Result, StoreError};

/// The TLS files of a `rediss` URL. All empty: the system's roots, no client certificate.
#[derive(Debug, Clone, Default)]
pub struct RedisTls {
    /// PEM CA certificate(s) the server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers with `tls-auth-clients yes`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file` (a secret: it is only ever read from this file).
    pub key_file: Option<PathBuf>,
}

impl RedisTls {
    fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }

    fn certificates(&self) -> Result<TlsCertificates> {
        let root_cert = self
            .ca_file
            .as_deref()
            .map(|path| read(path, "CA file"))
            .transpose()?;
        let client_tls = match (&self.cert_file, &self.key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read(cert, "client certificate file")?,
                client_key: read(key, "client key file")?,
            }),
            _ => {
                return Err(invalid(
                    "a Redis client certificate needs both store.tls_cert_file and \
                     store.tls_key_file",
                ))
            }
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        invalid(format!(
            "cannot read the Redis TLS {what} {}: {e}",
            path.display()
        ))
    })
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidRedisTarget(message.into())
}

enum Topology {
    Single(redis::Client),
    /// Behind a lock: asking the sentinels needs `&mut`.
    Sentinel(Mutex<SentinelClient>),
    Cluster(ClusterClient),
}

/// Opens connections to the configured Redis. Cheap to clone.
#[derive(Clone)]
pub(super) struct Connector(Arc<Topology>);

impl Connector {
    /// Reads `url` (see the module doc) and `tls`; connects to nothing yet. Errors never repeat
    /// the URL, which may carry a password.
    pub(super) fn new(url: &str, tls: &RedisTls) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid("the Redis URL needs a scheme: redis://, rediss://, redis+sentinel:// or redis+cluster://")
        })?;
        let secure = scheme.starts_with("rediss");
        if !secure && tls.is_set() {
            return Err(invalid(
                "store.tls_ca_file, store.tls_cert_file and store.tls_key_file need a rediss URL",
            ));
        }
        let certificates = if secure {
            ensure_crypto_provider();
            Some(tls.certificates()?)
        } else {
            None
        };
        let topology = match scheme {
            "redis" => Topology::Single(redis::Client::open(url)?),
            "rediss" => Topology::Single(redis::Client::build_with_tls(
                url,
                certificates.unwrap_or_else(no_files),
            )?),
            "redis+sentinel" | "rediss+sentinel" => {
                sentinel(&Hosts::parse(rest, secure)?, certificates)?
            }
            "redis+cluster" | "rediss+cluster" => {
                cluster(&Hosts::parse(rest, secure)?, certificates)?
            }
            _ => {
                return Err(invalid(
                    "unknown Redis URL scheme: use redis://, rediss://, redis+sentinel://, \
                     rediss+sentinel://, redis+cluster:// or rediss+cluster://",
                ))
            }
        };
        Ok(Self(Arc::new(topology)))
    }

    /// The connection every call of the store shares.
    pub(super) async fn shared(&self) -> Result<Connection> {
        Ok(match &*self.0 {
            Topology::Single(client) => Connection::Single(
                ConnectionManager::new_with_config(
                    client.clone(),
                    ConnectionManagerConfig::new()
                        .set_response_timeout(Some(RESPONSE_TIMEOUT))
                        .set_connection_timeout(Some(CONNECT_TIMEOUT)),
                )
                .await?,
            ),
            Topology::Sentinel(_) => {
                let master = self.sentinel_master(Some(RESPONSE_TIMEOUT)).await?;
                Connection::Sentinel(SentinelMaster {
                    connector: self.clone(),
                    current: Arc::new(Mutex::new(Some(master))),
                })
            }
            Topology::Cluster(client) => Connection::Cluster(
                client
                    .get_async_connection_with_config(
                        ClusterConfig::new()
                            .set_connection_timeout(CONNECT_TIMEOUT)
                            .set_response_timeout(RESPONSE_TIMEOUT),
                    )
                    .await?,
            ),
        })
    }

    /// A connection of its own, without a response timeout, for one blocking command at a time.
    pub(super) async fn dedicated(&self) -> Result<Connection> {
        Ok(match &*self.0 {
            Topology::Single(client) => Connection::Dedicated(
                client
                    .get_multiplexed_async_connection_with_config(&connection_config(None))
                    .await?,
            ),
            Topology::Sentinel(_) => Connection::Dedicated(self.sentinel_master(None).await?),
            Topology::Cluster(client) => Connection::Cluster(
                client
                    .get_async_connection_with_config(
                        ClusterConfig::new().set_connection_timeout(CONNECT_TIMEOUT),
                    )
                    .await?,
            ),
        })
    }

    /// A fresh connection to the master the sentinels name now (checked to be a master), whose
    /// commands wait `response_timeout` for their answers (`None`: as long as they take).
    async fn sentinel_master(
        &self,
        response_timeout: Option<Duration>,
    ) -> RedisResult<MultiplexedConnection> {
        let Topology::Sentinel(sentinels) = &*self.0 else {
            unreachable!("only called on a sentinel topology");
        };
        let client = sentinels.lock().await.async_get_client().await?;
        client
            .get_multiplexed_async_connection_with_config(&connection_config(response_timeout))
            .await
    }
}

/// Makes `ring` the process's rustls provider unless one is installed already: the redis crate
/// builds its TLS configuration with the process default.
pub(crate) fn ensure_crypto_provider() {
    use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
    if CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: either provider serves.
        let _ = ring::default_provider().install_default();
    }
}

fn no_files() -> TlsCertificates {
    TlsCertificates {
        client_tls: None,
        root_cert: None,
    }
}

/// How long opening a connection may take: longer than the redis crate's 1 s, since a burst of
/// slot waiters opens several dedicated connections at once, and a TLS handshake on a busy host
/// is slow.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a command on the shared connection waits for its answer, the same on every shape
/// (the redis crate's defaults differ by shape: 500 ms for one server, none for the master of
/// a Sentinel set). Redis answers in well under a millisecond, so this only has to tell a dead
/// server from a busy host: 500 ms was met by a process starved of CPU for a moment, failing a
/// lock or a job write that would have succeeded. A timed-out call may still have run on the
/// server, which every caller already allows for (a lost answer).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A patient connect, and `response_timeout` (`None` for the dedicated connections, whose
/// commands block on purpose).
fn connection_config(response_timeout: Option<Duration>) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_response_timeout(response_timeout)
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
}

/// The parts of a multi-host URL after the scheme: `[userinfo@]host:port[,…][/path]`.
struct Hosts {
    /// One `redis[s]://[userinfo@]host:port` per host, for the redis crate to parse.
    nodes: Vec<ConnectionInfo>,
    path: String,
}

impl Hosts {
    fn parse(rest: &str, secure: bool) -> Result<Self> {
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => (format!("{userinfo}@"), rest),
            None => (String::new(), rest),
        };
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let scheme = if secure { "rediss" } else { "redis" };
        let nodes = hosts
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| format!("{scheme}://{userinfo}{host}").into_connection_info())
            .collect::<RedisResult<Vec<_>>>()
            .map_err(|_| invalid("a host of the Redis URL is not host:port"))?;
        if nodes.is_empty() {
            return Err(invalid("the Redis URL names no host"));
        }
        Ok(Self {
            nodes,
            path: path.to_owned(),
        })
    }
}

fn sentinel(hosts: &Hosts, certificates: Option<TlsCertificates>) -> Result<Topology> {
    let mut path = hosts.path.split('/');
    let master = path.next().filter(|name| !name.is_empty()).ok_or_else(|| {
        invalid("a redis+sentinel URL names the master after the hosts: …/<master>[/<db>]")
    })?;
    let db = path
        .next()
        .filter(|db| !db.is_empty())
        .map(str::parse::<i64>)
        .transpose()
        .map_err(|_| invalid("the database of a redis+sentinel URL is a number"))?;
    let sentinels = hosts.nodes.iter().map(|node| node.addr().clone());
    let mut builder = SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)?;
    let first = &hosts.nodes[0];
    if let Some(username) = first.redis_settings().username() {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = first.redis_settings().password() {
        builder = builder.set_client_to_redis_password(password);
    }
    if let Some(db) = db {
        builder = builder.set_client_to_redis_db(db);
    }
    if let Some(certificates) = certificates {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_redis_certificates(certificates.clone())
            .set_client_to_sentinel_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_certificates(certificates);
    }
    Ok(Topology::Sentinel(Mutex::new(builder.build()?)))
}

fn cluster(hosts: &Hosts, certificates: Option<TlsCertificates>) -> Result<Topology> {
    if !hosts.path.is_empty() {
        return Err(invalid(
            "a redis+cluster URL has no path: a Cluster has one database",
        ));
    }
    let mut builder = ClusterClientBuilder::new(hosts.nodes.clone());
    if let Some(certificates) = certificates {
        builder = builder.tls(TlsMode::Secure).certs(certificates);
    }
    Ok(Topology::Cluster(builder.build()?))
}

/// A connection of any shape; clones share it.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Sentinel(SentinelMaster),
    Cluster(ClusterConnection),
    Dedicated(MultiplexedConnection),
}

impl Connection {
    /// One `SCAN` page of the keys matching `pattern`, whose hash tag names the slot they are
    /// in: on a Cluster it goes to that slot's master (other nodes hold none of them).
    pub(super) async fn scan(
        &mut self,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> Result<(u64, Vec<String>)> {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        let reply = match self {
            Self::Cluster(cluster) => {
                let route = Route::with_slot(Slot::for_key(pattern), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                cluster.route_command(scan, routing).await?
            }
            other => other.req_packed_command(&scan).await?,
        };
        FromRedisValue::from_redis_value(reply).map_err(|e| StoreError::Redis(e.into()))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => {
                Box::pin(c.run(move |mut c| async move { c.req_packed_command(cmd).await }))
            }
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Dedicated(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(c) => Box::pin(c.run(move |mut c| async move {
                c.req_packed_commands(pipeline, offset, count).await
            })),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Dedicated(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Sentinel(_) | Self::Cluster(_) => 0,
            Self::Dedicated(c) => c.get_db(),
        }
    }
}

/// The shared connection to the master the sentinels name, replaced after a failover.
#[derive(Clone)]
pub(super) struct SentinelMaster {
    connector: Connector,
    /// `None` once the connection failed: the next call asks the sentinels again.
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl SentinelMaster {
    /// Runs `call` on the current master; see the module doc for when it reconnects and retries.
    async fn run<T, F, Fut>(&self, call: F) -> RedisResult<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let mut retried = false;
        loop {
            let connection = self.connection().await?;
            match call(connection).await {
                Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) => {
                    self.forget().await;
                    if retried {
                        return Err(error);
                    }
                    retried = true;
                }
                Err(error) if error.is_unrecoverable_error() || error.is_io_error() => {
                    self.forget().await;
                    return Err(error);
                }
                answer => return answer,
            }
        }
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        let mut current = self.current.lock().await;
        if let Some(connection) = &*current {
            return Ok(connection.clone());
        }
        let connection = self
            .connector
            .sentinel_master(Some(RESPONSE_TIMEOUT))
            .await?;
        *current = Some(connection.clone());
        Ok(connection)
    }

    async fn forget(&self) {
        *self.current.lock().await = None;
    }
}

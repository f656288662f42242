//! HTTPS: a self-signed certificate made at start (`rcgen`, SANs `localhost` and `127.0.0.1`) and a
//! listener that completes TLS handshakes (`rustls` with the `ring` provider) off the accept path,
//! so one slow or broken client never holds up the others.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::{serve_on, Scheme, SeverableListener};
use crate::SandboxError;

/// Names the generated certificate is valid for.
const SUBJECT_ALT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-signed server certificate and its key, made fresh by [`TlsIdentity::generate`].
#[derive(Clone)]
pub struct TlsIdentity {
    cert_pem: String,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

fn tls_error(err: impl std::fmt::Display) -> SandboxError {
    SandboxError::Tls(err.to_string())
}

impl TlsIdentity {
    /// A new key pair and a self-signed certificate for `localhost` and `127.0.0.1`.
    pub fn generate() -> Result<Self, SandboxError> {
        let names = SUBJECT_ALT_NAMES.map(str::to_owned).to_vec();
        let certified = rcgen::generate_simple_self_signed(names).map_err(tls_error)?;
        let cert_der: CertificateDer<'static> = certified.cert.der().clone();
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem: certified.cert.pem(),
            config: Arc::new(config),
        })
    }

    /// The certificate, PEM-encoded: what a client adds to its trusted roots.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Writes the PEM certificate to `path` (for clients configured by file).
    pub fn write_cert(&self, path: impl AsRef<Path>) -> Result<(), SandboxError> {
        Ok(std::fs::write(path, &self.cert_pem)?)
    }
}

/// Accepts TCP connections and hands out the ones whose TLS handshake succeeded.
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor_task: JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl TlsListener {
    fn new(listener: TcpListener, identity: &TlsIdentity) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(identity.config.clone());
        let (tx, ready) = mpsc::channel(64);
        let acceptor_task = tokio::spawn(async move {
            let mut listener = listener;
            loop {
                let (tcp, addr) = Listener::accept(&mut listener).await;
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    if let Ok(Ok(stream)) = handshake.await {
                        let _ = tx.send((stream, addr)).await;
                    }
                });
            }
        });
        Ok(Self {
            local_addr,
            ready,
            acceptor_task,
        })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The acceptor task only ends when aborted, which happens when `self` drops.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Serves `router` over HTTPS with `tls` on `listener` until `shutdown` completes. The returned
/// future does not borrow `tls`, so it can be spawned.
pub fn serve_tls(
    listener: TcpListener,
    router: axum::Router,
    tls: &TlsIdentity,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = io::Result<()>> + Send + 'static {
    let tls = tls.clone();
    async move {
        let listener = SeverableListener::new(TlsListener::new(listener, &tls)?, Scheme::Https);
        serve_on(listener, router, shutdown).await
    }
}

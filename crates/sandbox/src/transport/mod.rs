//! How routers are served: plain HTTP ([`serve`]) or HTTPS with a generated certificate
//! ([`serve_tls`]).
//!
//! Every connection is wrapped so a request can *sever* it: once severed, the connection refuses
//! to write, so hyper drops it without sending a byte of the pending response. That is how injected
//! faults simulate dropped connections and timeouts. Each request carries a [`Connection`]
//! (`ConnectInfo`) that names its scheme, so handlers can build `https://` links and the TBA
//! verifier can sign over the scheme the client used.

mod tls;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use tls::{serve_tls, TlsIdentity};

/// The scheme a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The connection a request arrived on: its scheme and the switch that drops it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub scheme: Scheme,
    severed: Arc<AtomicBool>,
}

impl Connection {
    /// Drops the connection: the response being built is never written.
    pub fn sever(&self) {
        self.severed.store(true, Ordering::Release);
    }
}

/// A stream that fails every write (and reads end) once its connection is severed.
pub struct Severable<T> {
    inner: T,
    connection: Connection,
}

impl<T: AsyncRead + Unpin> AsyncRead for Severable<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.connection.severed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

fn severed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection severed by the sandbox",
    )
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Severable<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.connection.severed.load(Ordering::Acquire) {
            return Poll::Ready(Err(severed_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.connection.severed.load(Ordering::Acquire) {
            return Poll::Ready(Err(severed_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Wraps a listener's connections in [`Severable`].
pub struct SeverableListener<L> {
    inner: L,
    scheme: Scheme,
}

impl<L> SeverableListener<L> {
    pub fn new(inner: L, scheme: Scheme) -> Self {
        Self { inner, scheme }
    }
}

impl<L> Listener for SeverableListener<L>
where
    L: Listener,
    L::Io: Unpin,
{
    type Io = Severable<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (inner, addr) = self.inner.accept().await;
        let connection = Connection {
            scheme: self.scheme,
            severed: Arc::default(),
        };
        (Severable { inner, connection }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl<L> Connected<IncomingStream<'_, SeverableListener<L>>> for Connection
where
    L: Listener,
    L::Io: Unpin,
{
    fn connect_info(stream: IncomingStream<'_, SeverableListener<L>>) -> Self {
        stream.io().connection.clone()
    }
}

/// Serves `router` over plain HTTP on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_on(
        SeverableListener::new(listener, Scheme::Http),
        router,
        shutdown,
    )
    .await
}

async fn serve_on<L>(
    listener: SeverableListener<L>,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    L: Listener,
    L::Io: Unpin,
    L::Addr: std::fmt::Debug,
{
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<Connection>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

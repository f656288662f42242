//! The gateway's own serve loop (in place of `axum::serve`): hyper-util's connection builder
//! with the server limits an exposed listener needs.
//!
//! Guarantees:
//! - a request's headers must arrive within `header_read_timeout` (of the connection, or of
//!   the previous answer on a keep-alive connection), else hyper closes the connection;
//! - a connection with no request in flight is closed after `idle_timeout`;
//! - at most `max_connections` connections are served, a cap lowered below the process's
//!   file-descriptor limit (RLIMIT_NOFILE, read at start) so the process keeps descriptors for
//!   Redis, gRPC and files. Past the cap, [`HEALTH_RESERVE`] more connections are admitted for
//!   one request each: `/healthz` and `/readyz` are answered, anything else a JSON `503`; past
//!   that, a connection is closed at once. A full cap never takes the probes down;
//! - hyper's own answers to unparsable requests (`400`, a URI over 64 KiB `414`, headers over
//!   [`MAX_HEAD_BYTES`] `431`) are JSON error bodies like every other ([`hyper_answers`]);
//! - TCP_NODELAY on every connection; optional TLS ([`tls`]) with certificate reload;
//! - on shutdown, no new connection is accepted and open ones finish their requests.
//!
//! Body and request timeouts, the in-flight cap and the URI limit are per request: tower
//! layers in [`crate::limits`].

pub(crate) mod hyper_answers;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use isthmus_proto::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::ApiError;

/// Connections admitted past the cap, each for one health probe.
pub const HEALTH_RESERVE: usize = 16;
/// File descriptors kept out of the connection cap for everything else the process opens.
pub const FD_HEADROOM: usize = 256;
/// hyper's read buffer limit for a request's head: a URI up to hyper's own 64 KiB limit fits
/// (and gets its JSON `414`); heads past this get `431`.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The connection-level limits of one listener.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Configured cap; [`connection_cap`] lowers it below the descriptor limit.
    pub max_connections: usize,
    /// TLS certificate and key files, or `None` for plain HTTP.
    pub tls: Option<tls::TlsFiles>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            tls: None,
        }
    }
}

/// The soft RLIMIT_NOFILE of this process (Linux: `/proc/self/limits`), if known.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// `configured` connections, lowered so that they, the health reserve and [`FD_HEADROOM`] fit
/// in `fd_limit` (half the limit when it is small).
pub fn connection_cap(configured: usize, fd_limit: Option<usize>) -> usize {
    let Some(limit) = fd_limit else {
        return configured.max(1);
    };
    let usable = limit
        .checked_sub(FD_HEADROOM + HEALTH_RESERVE)
        .filter(|u| *u >= limit / 2)
        .unwrap_or(limit / 2);
    configured.min(usable).max(1)
}

/// Serves `router` on `listener` with `settings` until `shutdown`, then lets open connections
/// finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connection_cap(settings.max_connections, open_files_limit());
    tracing::info!(
        max_connections = cap,
        fd_limit = ?open_files_limit(),
        tls = settings.tls.is_some(),
        "serving"
    );
    let (stop_tx, stop) = watch::channel(false);
    let tls = match &settings.tls {
        Some(files) => Some(tls::ReloadingTls::start(files.clone(), stop.clone())?),
        None => None,
    };
    let shared = Arc::new(Shared {
        router,
        settings,
        tls,
        connections: Arc::new(Semaphore::new(cap)),
        reserve: Arc::new(Semaphore::new(HEALTH_RESERVE)),
    });
    let tracker = tokio_util::task::TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(err) => {
                    // EMFILE and the like: wait for descriptors to come back, keep accepting.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admission = if let Ok(permit) = shared.connections.clone().try_acquire_owned() {
            Admission {
                health_only: false,
                _permit: permit,
            }
        } else if let Ok(permit) = shared.reserve.clone().try_acquire_owned() {
            Admission {
                health_only: true,
                _permit: permit,
            }
        } else {
            tracing::debug!("connection refused: the connection cap and its reserve are full");
            drop(tcp);
            continue;
        };
        tracker.spawn(connection(tcp, shared.clone(), admission, stop.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    tracker.close();
    tracker.wait().await;
    Ok(())
}

struct Shared {
    router: Router,
    settings: ServeSettings,
    tls: Option<tls::ReloadingTls>,
    connections: Arc<Semaphore>,
    reserve: Arc<Semaphore>,
}

/// How a connection was let in: within the cap, or past it for one health probe; its place is
/// held until it closes.
struct Admission {
    health_only: bool,
    _permit: OwnedSemaphorePermit,
}

async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    admission: Admission,
    stop: watch::Receiver<bool>,
) {
    // A response written in parts must not wait for the caller's delayed ACK.
    if let Err(err) = tcp.set_nodelay(true) {
        tracing::debug!(%err, "TCP_NODELAY not set on an accepted connection");
    }
    let health_only = admission.health_only;
    match &shared.tls {
        None => drive(tcp, &shared, health_only, stop).await,
        Some(tls) => {
            let handshake = tls.acceptor().accept(tcp);
            match tokio::time::timeout(shared.settings.header_read_timeout, handshake).await {
                Ok(Ok(stream)) => drive(stream, &shared, health_only, stop).await,
                Ok(Err(err)) => tracing::debug!(%err, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
    drop(admission);
}

/// Serves one connection until it ends, idles out or the server stops.
async fn drive<I>(io: I, shared: &Shared, health_only: bool, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let service = {
        let router = shared.router.clone();
        let activity = activity.clone();
        hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let busy = activity.begin();
            let router = router.clone();
            async move {
                let request = request.map(Body::new);
                let response = if health_only && !is_health_probe(request.uri().path()) {
                    over_connection_cap()
                } else {
                    match router.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                };
                drop(busy);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.settings.header_read_timeout)
        .keep_alive(!health_only)
        .max_buf_size(MAX_HEAD_BYTES);
    builder.http2().timer(TokioTimer::new());
    let io = TokioIo::new(hyper_answers::HyperAnswersAsJson::new(io));
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle_timeout = shared.settings.idle_timeout;
    let mut closing = false;
    loop {
        let idle_deadline = activity.idle_since().map_or_else(
            || Instant::now() + idle_timeout,
            |since| since + idle_timeout,
        );
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_deadline), if !closing => {
                if activity.idle_since().is_some_and(|since| since.elapsed() >= idle_timeout) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    last_end: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            last_end: Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Since when the connection has had no request in flight; `None` while one is.
    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*self.last_end.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last_end.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The routes that answer even past the connection cap and the in-flight cap.
pub(crate) fn is_health_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// The answer on a connection admitted past the cap for anything but a health probe.
fn over_connection_cap() -> Response {
    let trace_id = isthmus_telemetry::TraceContext::from_header_or_new(None).trace_id;
    let mut response = ApiError::new(
        ErrorCode::Unavailable,
        "the gateway is at its connection limit; retry shortly",
    )
    .render(&trace_id);
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_stays_below_the_descriptor_limit() {
        assert_eq!(
            connection_cap(10_000, Some(1024)),
            1024 - FD_HEADROOM - HEALTH_RESERVE
        );
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(10_000, Some(300)), 150);
        assert_eq!(connection_cap(10_000, None), 10_000);
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }
}

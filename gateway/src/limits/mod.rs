//! Per-request limits of the gateway, as two layers (see [`crate::routes::router`]):
//!
//! - [`edge`], outside authentication: a URI longer than `max_uri_bytes` is answered `414`;
//!   past `max_in_flight` requests in flight the gateway sheds at once with a `503` (health
//!   probes excepted, so a loaded gateway still reports itself alive); a body must arrive
//!   whole within `body_read_timeout` of the headers and the whole request finish within
//!   `request_timeout`, else `408`.
//! - [`per_key`], after authentication (it needs the caller's key): each key has a token
//!   bucket of its scope's rate and burst ([`buckets`]; `429` with `Retry-After`), and a
//!   Salesforce-scoped key has a daily budget of Salesforce API calls ([`budget`]).
//! - [`allocation`], innermost: a `503 SALESFORCE_ALLOCATION_EXHAUSTED` gets `Retry-After`.
//!
//! Every refusal is an [`ApiError`], so the trace layer writes its JSON body. Buckets are per
//! replica (a burst is per replica too); the Salesforce budget is counted in the store, so all
//! replicas share it.

pub(crate) mod allocation;
pub(crate) mod buckets;
pub(crate) mod budget;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http_body::Frame;
use isthmus_proto::ErrorCode;
use tokio::sync::Semaphore;

use crate::keys::{Caller, Scope};
use crate::{ApiError, Gateway};

pub use buckets::RateLimit;

/// The limits of `[gateway]` a request meets.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    pub max_uri_bytes: usize,
    /// Rate and burst of a key by scope.
    pub rate_limits: Vec<(Scope, RateLimit)>,
    /// Share of the daily Salesforce API allocation a Salesforce-scoped key may spend.
    pub salesforce_key_share: f64,
    /// The allocation assumed until the org's own has been published.
    pub salesforce_daily_allocation: u64,
    /// `Retry-After` of a `SALESFORCE_ALLOCATION_EXHAUSTED` answer when no hold is published
    /// (`queue.hold_pause_ms`).
    pub allocation_retry_after: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let limit = RateLimit {
            rate: 20.0,
            burst: 40,
        };
        Self {
            body_read_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(20),
            max_in_flight: 1024,
            max_uri_bytes: 8192,
            rate_limits: vec![
                (Scope::Salesforce, limit),
                (Scope::NetSuite, limit),
                (Scope::Viewer, limit),
                (Scope::Admin, limit),
            ],
            salesforce_key_share: 0.1,
            salesforce_daily_allocation: 15_000,
            allocation_retry_after: Duration::from_secs(60),
        }
    }
}

/// The limits' state in one gateway process.
pub(crate) struct Limits {
    settings: LimitSettings,
    in_flight: Arc<Semaphore>,
    buckets: buckets::KeyBuckets,
    pub(crate) budget: budget::SalesforceBudget,
}

impl Limits {
    pub(crate) fn new(settings: LimitSettings, store: Arc<dyn isthmus_store::Store>) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            buckets: buckets::KeyBuckets::default(),
            budget: budget::SalesforceBudget::new(
                store,
                settings.salesforce_key_share,
                settings.salesforce_daily_allocation,
            ),
            settings,
        }
    }

    /// The most generous rate of the caller's scopes.
    fn rate_of(&self, caller: &Caller) -> Option<RateLimit> {
        self.settings
            .rate_limits
            .iter()
            .filter(|(scope, _)| caller.scopes.contains(scope))
            .map(|(_, limit)| *limit)
            .max_by(|a, b| a.rate.total_cmp(&b.rate))
    }
}

/// An error answer with `Retry-After: seconds`.
fn retry_after(error: ApiError, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = error.into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// URI length, in-flight cap, body and request timeouts (see the module doc).
pub async fn edge(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let limits = &gateway.limits;
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_len > limits.settings.max_uri_bytes {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!(
                "the request URI is {uri_len} bytes; the gateway accepts at most {}",
                limits.settings.max_uri_bytes
            ),
        )
        .into_response();
    }
    let _permit = if crate::serve::is_health_probe(request.uri().path()) {
        None
    } else {
        match limits.in_flight.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let shed = ApiError::new(
                    ErrorCode::Unavailable,
                    "the gateway is at its limit of requests in flight; retry shortly",
                );
                return retry_after(shed, Duration::from_secs(1));
            }
        }
    };
    let body_timeout = limits.settings.body_read_timeout;
    let late = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(body_timeout)),
            late: late.clone(),
        })
    });
    let request_timeout = limits.settings.request_timeout;
    match tokio::time::timeout(request_timeout, next.run(request)).await {
        // Whatever the route made of a body cut off, the answer is the timeout.
        Ok(_) if late.load(Ordering::Acquire) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} ms",
                body_timeout.as_millis()
            ),
        )
        .into_response(),
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request did not finish within {} ms",
                request_timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

/// A request body that fails once its deadline passes before it has arrived whole.
struct DeadlineBody {
    inner: Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    late: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if std::future::Future::poll(this.deadline.as_mut(), cx).is_ready() {
            this.late.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new("the request body timed out"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The caller's rate and, for a Salesforce-scoped key, its Salesforce budget.
pub async fn per_key(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>() else {
        return next.run(request).await;
    };
    let limits = &gateway.limits;
    if let Some(limit) = limits.rate_of(caller) {
        if let Err(wait) = limits.buckets.take(&caller.name, limit) {
            let refused = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this API key is over its rate of {} requests a second (burst {})",
                    limit.rate, limit.burst
                ),
            );
            return retry_after(refused, wait);
        }
    }
    let cost = if caller.scopes.contains(&Scope::Salesforce) {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        budget::salesforce_cost(request.method(), route)
    } else {
        0
    };
    if cost == 0 {
        return next.run(request).await;
    }
    let charge = match limits.budget.charge(&caller.name, cost).await {
        Ok(charge) => charge,
        Err(budget::Refused::Spent { budget }) => {
            let refused = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this API key has spent its share of the daily Salesforce API allocation \
                     ({budget} calls in 24 hours)"
                ),
            );
            return retry_after(refused, budget::RETRY_AFTER);
        }
        Err(budget::Refused::Store(err)) => {
            tracing::error!(%err, "store unavailable");
            return ApiError::new(ErrorCode::Unavailable, "the store is unavailable")
                .into_response();
        }
    };
    let (response, called) = budget::watching_service_calls(next.run(request)).await;
    if !called {
        limits.budget.refund(charge).await;
    }
    response
}

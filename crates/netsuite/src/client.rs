//! [`NetSuiteClient`]: one HTTP connection pool, the credentials and the retry counters, shared by
//! every clone; the concurrency gate is set per handle with [`NetSuiteClient::with_gate`].
//!
//! Every call goes through [`NetSuiteClient::send`]: it takes a slot of the gate, signs the request
//! (a fresh nonce and timestamp on every attempt), sends it, reads the whole body, gives the slot
//! back and turns error statuses into [`NetSuiteError::Api`]. Calls refused for the account's
//! concurrency limit are retried as [`ConcurrencyRetry`] says, with the slot released while
//! waiting; nothing else is retried here (the caller decides with [`NetSuiteError::class`]). Each
//! call runs in a `netsuite.request` span with the method, a path pattern (record types, never ids
//! or values), the status and the number of concurrency retries. Every record write asks for
//! `X-NetSuite-PropertyNameValidation: Error`, so a body field the record does not have (a
//! misnamed custom field) fails the write with `NONEXISTENT_FIELD` instead of being dropped.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use isthmus_jwt::SigningKey;
use reqwest::{header, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tracing::Instrument;
use url::Url;

use crate::config::{NetSuiteAuth, NetSuiteConfig};
use crate::error::NetSuiteError;
use crate::gate::{ConcurrencyGate, Slot};
use crate::oauth2::{Bearer, TokenSource};
use crate::retry::ConcurrencyRetry;

mod auth;
mod jobs;
mod metadata;
mod records;
mod restlet;
mod suiteql;

pub use jobs::{JobId, JobResult, JOB_WAIT_LIMIT};
pub use metadata::{FieldMetadata, RecordMetadata};
pub use records::{GetOptions, ListPage, ListedRecord};

pub(crate) type Record = Map<String, Value>;

/// A NetSuite REST web services client. Cheap to clone: clones share connections, credentials
/// and counters, and the gate set before cloning.
#[derive(Clone)]
pub struct NetSuiteClient {
    inner: Arc<Inner>,
    gate: Option<Arc<dyn ConcurrencyGate>>,
}

struct Inner {
    http: reqwest::Client,
    /// `{origin}/services/rest/`
    rest_base: Url,
    /// `{restlet origin}/app/site/hosting/restlet.nl`
    restlet_url: Url,
    realm: String,
    auth: Auth,
    retry: ConcurrencyRetry,
    concurrency_retries: AtomicU64,
    time_zone: chrono_tz::Tz,
}

enum Auth {
    Tba {
        consumer_key: String,
        consumer_secret: SecretString,
        token_id: String,
        token_secret: SecretString,
    },
    /// Boxed: the key pair and token cache are large next to the TBA keys.
    OAuth2(Box<TokenSource>),
}

impl fmt::Debug for NetSuiteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetSuiteClient")
            .field("realm", &self.inner.realm)
            .field("rest_base", &self.inner.rest_base.as_str())
            .field("gated", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

/// One HTTP call, as [`NetSuiteClient::send`] takes it.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<Bytes>,
    pub(crate) content_type: &'static str,
    /// Whether to sign the call (all but the token request).
    pub(crate) authenticate: bool,
    /// The `Prefer` header (`transient`, `respond-async`).
    pub(crate) prefer: Option<&'static str>,
    /// `X-NetSuite-Idempotency-Key`.
    pub(crate) idempotency_key: Option<String>,
    /// The path for the span: record types, never ids or values.
    pub(crate) pattern: &'a str,
    /// The `Accept` header (`application/json`, or the metadata catalog's schema types).
    pub(crate) accept: &'static str,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, url: Url, pattern: &'a str) -> Self {
        Self {
            method,
            url,
            body: None,
            content_type: "application/json",
            authenticate: true,
            prefer: None,
            idempotency_key: None,
            pattern,
            accept: "application/json",
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, NetSuiteError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| NetSuiteError::Decode(format!("request body: {e}")))?;
        self.body = Some(bytes.into());
        Ok(self)
    }

    fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(body.into());
        self.content_type = "application/x-www-form-urlencoded";
        self
    }

    pub(crate) fn prefer(mut self, prefer: &'static str) -> Self {
        self.prefer = Some(prefer);
        self
    }
}

/// A response that passed the status check.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<String>,
    pub(crate) body: Bytes,
}

impl NetSuiteClient {
    /// Builds a client; no request is made until the first call.
    pub fn new(config: NetSuiteConfig) -> Result<Self, NetSuiteError> {
        if config.account_id.is_empty()
            || !config
                .account_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(NetSuiteError::Config(format!(
                "account_id {:?} must be letters, digits and '_'",
                config.account_id
            )));
        }
        let rest_base = http_url(&format!("{}/services/rest/", config.origin()))?;
        let restlet_url = http_url(&format!(
            "{}/app/site/hosting/restlet.nl",
            config.restlet_origin()
        ))?;
        let auth = match config.auth {
            NetSuiteAuth::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => {
                if consumer_key.is_empty()
                    || token_id.is_empty()
                    || consumer_secret.expose_secret().is_empty()
                    || token_secret.expose_secret().is_empty()
                {
                    return Err(NetSuiteError::Config(
                        "consumer and token keys and secrets must not be empty".into(),
                    ));
                }
                Auth::Tba {
                    consumer_key,
                    consumer_secret,
                    token_id,
                    token_secret,
                }
            }
            NetSuiteAuth::OAuth2 {
                client_id,
                certificate_id,
                private_key_pem,
                algorithm,
                scopes,
            } => {
                if client_id.is_empty() || certificate_id.is_empty() || scopes.is_empty() {
                    return Err(NetSuiteError::Config(
                        "OAuth 2.0 needs a client id, a certificate id and scopes".into(),
                    ));
                }
                let signer = SigningKey::from_pem(private_key_pem.expose_secret(), algorithm)?
                    .with_key_id(certificate_id);
                let token_url = rest_base
                    .join("auth/oauth2/v1/token")
                    .map_err(|e| NetSuiteError::Config(format!("token URL: {e}")))?;
                Auth::OAuth2(Box::new(TokenSource::new(
                    client_id, scopes, signer, token_url,
                )))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("isthmus-netsuite/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NetSuiteError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                rest_base,
                restlet_url,
                realm: config.account_id,
                auth,
                retry: config.concurrency_retry,
                concurrency_retries: AtomicU64::new(0),
                time_zone: config.time_zone,
            }),
            gate: None,
        })
    }

    /// Runs every HTTP call of this handle (and of its later clones) inside a slot of `gate`.
    pub fn with_gate(mut self, gate: Arc<dyn ConcurrencyGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Calls retried because the account's concurrency limit refused them, since construction
    /// (shared by all clones).
    pub fn concurrency_retries(&self) -> u64 {
        self.inner.concurrency_retries.load(Ordering::Relaxed)
    }

    /// The account's time zone, in which SuiteQL compares and formats datetimes.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.inner.time_zone
    }

    /// Sends one call, retrying it while the concurrency limit refuses it.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Reply, NetSuiteError> {
        let span = tracing::info_span!(
            "netsuite.request",
            otel.name = %format!("NetSuite {} {}", call.method, call.pattern),
            otel.kind = "client",
            method = %call.method,
            path = call.pattern,
            status = tracing::field::Empty,
            concurrency_retries = tracing::field::Empty,
        );
        async {
            let policy = &self.inner.retry;
            let mut attempt = 0;
            let mut renewed = false;
            loop {
                let bearer = match call.authenticate {
                    true => self.bearer().await?,
                    false => None,
                };
                let (result, elapsed) = self.attempt(&call, bearer.as_deref()).await;
                match result {
                    // A revoked or expired token: get a new one and try once more.
                    Err(err) if err.status() == Some(401) && !renewed && bearer.is_some() => {
                        if let (Auth::OAuth2(tokens), Some(stale)) = (&self.inner.auth, &bearer) {
                            tracing::debug!("bearer token refused; renewing it once");
                            tokens.invalidate(stale).await;
                        }
                        renewed = true;
                    }
                    Err(err)
                        if attempt < policy.max_retries && policy.applies_to(&err, elapsed) =>
                    {
                        let delay = policy.delay(attempt, err.retry_after());
                        self.inner.concurrency_retries.fetch_add(1, Ordering::Relaxed);
                        attempt += 1;
                        tracing::Span::current().record("concurrency_retries", attempt);
                        tracing::debug!(attempt, ?delay, error = %err, "concurrency limit; backing off");
                        tokio::time::sleep(delay).await;
                    }
                    other => return other,
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One attempt inside one slot; also returns how long the HTTP exchange took.
    async fn attempt(
        &self,
        call: &Call<'_>,
        bearer: Option<&Bearer>,
    ) -> (Result<Reply, NetSuiteError>, Duration) {
        let slot = match &self.gate {
            Some(gate) => match Slot::acquire(gate).await {
                Ok(slot) => Some(slot),
                Err(err) => return (Err(err), Duration::ZERO),
            },
            None => None,
        };
        let started = Instant::now();
        let result = self.exchange(call, bearer).await;
        let elapsed = started.elapsed();
        if let Some(slot) = slot {
            // A vendor answer (success or error) tells the gate about the account's load; a
            // transport failure says nothing about it.
            match &result {
                Ok(_) => slot.answered(false).await,
                Err(err) if err.is_concurrency_limit() => slot.answered(true).await,
                Err(err) if err.status().is_some() => slot.answered(false).await,
                Err(_) => {}
            }
            slot.release().await;
        }
        (result, elapsed)
    }

    async fn exchange(
        &self,
        call: &Call<'_>,
        bearer: Option<&Bearer>,
    ) -> Result<Reply, NetSuiteError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header(header::ACCEPT, call.accept);
        if call.authenticate {
            request = request.header(header::AUTHORIZATION, self.authorization(call, bearer)?);
        }
        if let Some(body) = &call.body {
            request = request
                .header(header::CONTENT_TYPE, call.content_type)
                .body(body.clone());
        }
        if let Some(prefer) = call.prefer {
            request = request.header("Prefer", prefer);
        }
        if let Some(key) = &call.idempotency_key {
            request = request.header("X-NetSuite-Idempotency-Key", key);
        }
        if writes_record_fields(call) {
            // NetSuite's default (`Warning`) drops a field the record does not have and still
            // answers 204, so a mapping to a missing custom field would lose its value silently.
            request = request.header(PROPERTY_NAME_VALIDATION, "Error");
        }
        // The W3C trace context of this call's span (not part of what TBA signs).
        if let Some(traceparent) = isthmus_telemetry::current_traceparent() {
            request = request.header("traceparent", traceparent);
        }
        let started = Instant::now();
        let sent = request.send().await;
        let status = sent.as_ref().ok().map(|r| r.status().as_u16());
        isthmus_telemetry::metrics::upstream_call(
            "netsuite",
            call.pattern,
            status,
            started.elapsed().as_secs_f64(),
        );
        let response = sent?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let headers = response.headers();
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await?;
        if !status.is_success() {
            let mut err = NetSuiteError::from_response(status.as_u16(), &body);
            if let NetSuiteError::Api {
                retry_after: slot, ..
            } = &mut err
            {
                *slot = retry_after;
            }
            if call.idempotency_key.is_some() {
                err = jobs::earlier_job(err, location.as_deref());
            }
            return Err(err);
        }
        Ok(Reply {
            status,
            location,
            body,
        })
    }

    /// `{rest_base}/{segments…}?{query}`, every segment percent-encoded.
    pub(crate) fn url(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Url, NetSuiteError> {
        let mut url = self.inner.rest_base.clone();
        url.path_segments_mut()
            .map_err(|()| NetSuiteError::Config("base URL cannot hold a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }
}

/// The request header choosing what NetSuite does with a body field the record lacks.
const PROPERTY_NAME_VALIDATION: &str = "X-NetSuite-PropertyNameValidation";

/// Whether a call writes record fields through the record API (create, update, upsert,
/// transform, and their asynchronous forms): the calls `X-NetSuite-PropertyNameValidation`
/// governs. RESTlets and SuiteQL are not record writes.
fn writes_record_fields(call: &Call<'_>) -> bool {
    call.body.is_some()
        && call.method != Method::GET
        && call.url.path().contains("/services/rest/record/")
}

fn http_url(text: &str) -> Result<Url, NetSuiteError> {
    let url =
        Url::parse(text).map_err(|e| NetSuiteError::Config(format!("base URL {text:?}: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(NetSuiteError::Config(format!(
            "base URL {text:?} must be an http(s) URL"
        )));
    }
    Ok(url)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, NetSuiteError> {
    serde_json::from_slice(body).map_err(|e| NetSuiteError::Decode(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;

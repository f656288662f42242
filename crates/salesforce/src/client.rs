//! [`SalesforceClient`]: one HTTP connection pool, one token cache and the last API usage seen,
//! shared by every clone.
//!
//! Every call goes through [`SalesforceClient::send`], which adds the bearer token, records the
//! `Sforce-Limit-Info` usage, turns error statuses into [`SalesforceError::Api`] and, when the token
//! was revoked or expired (401 `INVALID_SESSION_ID`), refreshes it and repeats the call once.
//! Each call runs in a `salesforce.request` span with the method, a path pattern (object names,
//! never ids or values) and the status.

use std::fmt;
use std::sync::{Arc, RwLock};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{header, Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::auth::{Grant, TokenCache};
use crate::config::{SalesforceAuth, SalesforceConfig};
use crate::error::SalesforceError;
use crate::jwt;
use crate::limits::{ApiUsage, LIMIT_INFO_HEADER};

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

mod bulk;
mod collections;
mod composite;
mod describe;
mod keyset;
mod org;
mod query;
mod replication;

pub use bulk::{
    BulkField, BulkJob, BulkJobState, BulkOperation, BulkPolling, BulkQuery, FailedRow,
    IngestOutcome, SavedRow, BULK_INGEST_MAX_BYTES,
};
pub use collections::{RecordResult, COLLECTION_LIMIT};
pub use composite::{
    composite_batches, CompositeSubrequest, CompositeSubresponse, COMPOSITE_LIMIT,
    COMPOSITE_QUERY_LIMIT,
};
pub use describe::{FieldDescribe, PicklistValue, SObjectDescribe};
pub use keyset::KeysetQuery;
pub use org::OrgLimit;
pub use replication::{DeletedRecord, DeletedRecords};

/// A record type `Map`, as Salesforce returns it.
pub(crate) type Record = Map<String, Value>;

/// Called with the usage of every response that carries `Sforce-Limit-Info`.
pub type UsageObserver = Arc<dyn Fn(ApiUsage) + Send + Sync>;

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// The record's id.
    pub id: String,
    /// `true` when the upsert created the record, `false` when it updated one.
    pub created: bool,
}

/// A Salesforce REST API client. Cheap to clone: clones share connections and the token.
#[derive(Clone)]
pub struct SalesforceClient {
    inner: Arc<Inner>,
    observer: Option<UsageObserver>,
}

struct Inner {
    http: reqwest::Client,
    tokens: TokenCache,
    /// `/services/data/vXX.X/`
    data_path: String,
    login_url: String,
    usage: RwLock<Option<ApiUsage>>,
}

impl fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("login_url", &self.inner.login_url)
            .field("data_path", &self.inner.data_path)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct SaveResult {
    id: String,
    #[serde(default)]
    created: bool,
}

/// A response that passed the status check.
struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

/// The media type of a request body and of the answer asked for.
#[derive(Clone, Copy)]
pub(crate) struct Media {
    pub(crate) content_type: &'static str,
    pub(crate) accept: &'static str,
}

impl Media {
    pub(crate) const JSON: Self = Self {
        content_type: "application/json",
        accept: "application/json",
    };
}

impl SalesforceClient {
    /// Builds a client; no request is made until the first call.
    pub fn new(config: SalesforceConfig) -> Result<Self, SalesforceError> {
        let login_url = config.login_url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&login_url)
            .map_err(|e| SalesforceError::Config(format!("login_url {login_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(SalesforceError::Config(format!(
                "login_url {login_url:?} must be an http(s) URL"
            )));
        }
        let version = config.api_version.trim_start_matches('v');
        if version.split('.').count() != 2
            || !version
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SalesforceError::Config(format!(
                "api_version {:?} must look like \"61.0\"",
                config.api_version
            )));
        }
        let grant = grant(&config)?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("isthmus-salesforce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SalesforceError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                tokens: TokenCache::new(format!("{login_url}/services/oauth2/token"), grant),
                data_path: format!("/services/data/v{version}/"),
                login_url,
                usage: RwLock::new(None),
            }),
            observer: None,
        })
    }

    /// Reads one record; `fields` narrows the answer (all readable fields when empty).
    pub async fn get(
        &self,
        sobject: &str,
        id: &str,
        fields: &[&str],
    ) -> Result<Record, SalesforceError> {
        let path = format!("sobjects/{}/{}", segment(sobject), segment(id));
        let joined = fields.join(",");
        let query: &[(&str, &str)] = if fields.is_empty() {
            &[]
        } else {
            &[("fields", &joined)]
        };
        let pattern = format!("sobjects/{sobject}/{{id}}");
        let reply = self.send(Method::GET, &path, query, None, &pattern).await?;
        decode(&reply.body, "record")
    }

    /// Creates a record and returns its id.
    pub async fn create(&self, sobject: &str, body: &Record) -> Result<String, SalesforceError> {
        let path = format!("sobjects/{}", segment(sobject));
        let pattern = format!("sobjects/{sobject}");
        let reply = self
            .send(Method::POST, &path, &[], Some(encode(body)?), &pattern)
            .await?;
        Ok(decode::<SaveResult>(&reply.body, "create result")?.id)
    }

    /// Updates the given fields of a record.
    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        body: &Record,
    ) -> Result<(), SalesforceError> {
        let path = format!("sobjects/{}/{}", segment(sobject), segment(id));
        let pattern = format!("sobjects/{sobject}/{{id}}");
        self.send(Method::PATCH, &path, &[], Some(encode(body)?), &pattern)
            .await?;
        Ok(())
    }

    /// Creates or updates the record whose `ext_field` equals `ext_value`. Several matches
    /// answer 300, returned as [`SalesforceError::Api`] with status 300.
    pub async fn upsert(
        &self,
        sobject: &str,
        ext_field: &str,
        ext_value: &str,
        body: &Record,
    ) -> Result<UpsertOutcome, SalesforceError> {
        let path = format!(
            "sobjects/{}/{}/{}",
            segment(sobject),
            segment(ext_field),
            segment(ext_value)
        );
        let pattern = format!("sobjects/{sobject}/{ext_field}/{{value}}");
        let reply = self
            .send(Method::PATCH, &path, &[], Some(encode(body)?), &pattern)
            .await?;
        match reply.status {
            // API versions before 46.0 answer an update with 204 and no body: look the id up.
            StatusCode::NO_CONTENT => {
                let record = self
                    .send(Method::GET, &path, &[("fields", "Id")], None, &pattern)
                    .await?;
                let record: Record = decode(&record.body, "record")?;
                let id = record
                    .get("Id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| SalesforceError::Decode("upserted record has no Id".into()))?;
                Ok(UpsertOutcome {
                    id: id.to_owned(),
                    created: false,
                })
            }
            status => {
                let result: SaveResult = decode(&reply.body, "upsert result")?;
                Ok(UpsertOutcome {
                    id: result.id,
                    created: status == StatusCode::CREATED || result.created,
                })
            }
        }
    }

    /// Deletes a record.
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), SalesforceError> {
        let path = format!("sobjects/{}/{}", segment(sobject), segment(id));
        let pattern = format!("sobjects/{sobject}/{{id}}");
        self.send(Method::DELETE, &path, &[], None, &pattern)
            .await?;
        Ok(())
    }

    /// Calls `observer` with the API usage of every response of this handle (and of its later
    /// clones) that carries `Sforce-Limit-Info`, e.g. to publish it for other replicas. The
    /// observer runs inline on the response path: keep it quick and non-blocking.
    pub fn with_usage_observer(mut self, observer: UsageObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The daily API usage from the last response that carried `Sforce-Limit-Info`.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *self
            .inner
            .usage
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends one call. `path` is relative to the versioned data path, or absolute from the
    /// instance root when it starts with `/` (as `nextRecordsUrl` does).
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        pattern: &str,
    ) -> Result<Reply, SalesforceError> {
        self.send_as(method, path, query, body, Media::JSON, pattern)
            .await
    }

    /// [`Self::send`] with other media types (Bulk API 2.0 uploads and reads CSV).
    async fn send_as(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        media: Media,
        pattern: &str,
    ) -> Result<Reply, SalesforceError> {
        let span = tracing::info_span!(
            "salesforce.request",
            otel.name = %format!("Salesforce {method} {pattern}"),
            otel.kind = "client",
            method = %method,
            path = pattern,
            status = tracing::field::Empty,
        );
        async {
            let http = &self.inner.http;
            let mut session = self.inner.tokens.session(http).await?;
            let mut refreshed = false;
            loop {
                let url = if path.starts_with('/') {
                    format!("{}{path}", session.instance_url)
                } else {
                    format!("{}{}{path}", session.instance_url, self.inner.data_path)
                };
                let mut request = http
                    .request(method.clone(), url)
                    .bearer_auth(session.access_token.expose_secret())
                    .header(header::ACCEPT, media.accept);
                if !query.is_empty() {
                    request = request.query(query);
                }
                if let Some(body) = &body {
                    request = request
                        .header(header::CONTENT_TYPE, media.content_type)
                        .body(body.clone());
                }
                // The W3C trace context of this call's span: the org's event log can name it.
                if let Some(traceparent) = isthmus_telemetry::current_traceparent() {
                    request = request.header("traceparent", traceparent);
                }
                let started = std::time::Instant::now();
                let sent = request.send().await;
                let seconds = started.elapsed().as_secs_f64();
                let status = sent.as_ref().ok().map(|r| r.status().as_u16());
                isthmus_telemetry::metrics::upstream_call("salesforce", pattern, status, seconds);
                let response = sent?;
                let status = response.status();
                tracing::Span::current().record("status", status.as_u16());
                self.record_usage(response.headers());
                let headers = response.headers().clone();
                let bytes = response.bytes().await?.to_vec();
                if status.is_success() {
                    return Ok(Reply {
                        status,
                        headers,
                        body: bytes,
                    });
                }
                let err = SalesforceError::from_response(status.as_u16(), &bytes);
                if status == StatusCode::UNAUTHORIZED
                    && err.error_code() == Some("INVALID_SESSION_ID")
                    && !refreshed
                {
                    tracing::debug!("session rejected; refreshing the token once");
                    session = self.inner.tokens.refresh(http, &session).await?;
                    refreshed = true;
                    continue;
                }
                return Err(err);
            }
        }
        .instrument(span)
        .await
    }

    fn record_usage(&self, headers: &header::HeaderMap) {
        let usage = headers
            .get(LIMIT_INFO_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(ApiUsage::parse);
        if let Some(usage) = usage {
            self.set_usage(usage);
        }
    }

    fn set_usage(&self, usage: ApiUsage) {
        *self
            .inner
            .usage
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(usage);
        isthmus_telemetry::metrics::SALESFORCE_REMAINING
            .set(usage.max.saturating_sub(usage.used) as f64);
        isthmus_telemetry::metrics::SALESFORCE_MAX.set(usage.max as f64);
        if let Some(observer) = &self.observer {
            observer(usage);
        }
    }
}

/// The token grant of `config`, checked.
fn grant(config: &SalesforceConfig) -> Result<Grant, SalesforceError> {
    match &config.auth {
        SalesforceAuth::ClientCredentials {
            client_id,
            client_secret,
        } => {
            if client_id.is_empty() || client_secret.expose_secret().is_empty() {
                return Err(SalesforceError::Config(
                    "client_id and client_secret must not be empty".into(),
                ));
            }
            Ok(Grant::ClientCredentials {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            })
        }
        SalesforceAuth::JwtBearer {
            client_id,
            username,
            private_key_pem,
            ..
        } => {
            if client_id.is_empty() || username.is_empty() {
                return Err(SalesforceError::Config(
                    "JWT bearer needs a client_id and a username".into(),
                ));
            }
            Ok(Grant::JwtBearer {
                client_id: client_id.clone(),
                username: username.clone(),
                audience: config.jwt_audience(),
                key: Box::new(jwt::signing_key(private_key_pem.expose_secret())?),
            })
        }
    }
}

pub(crate) fn segment(value: &str) -> impl fmt::Display + '_ {
    utf8_percent_encode(value, SEGMENT)
}

fn encode(body: &Record) -> Result<Vec<u8>, SalesforceError> {
    serde_json::to_vec(body).map_err(|e| SalesforceError::Decode(format!("request body: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, SalesforceError> {
    serde_json::from_slice(body).map_err(|e| SalesforceError::Decode(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;

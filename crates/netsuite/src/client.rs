//! [`NetSuiteClient`]: one HTTP connection pool and the TBA credentials, shared by every clone.
//!
//! Every call goes through [`NetSuiteClient::send`], which builds the URL (path segments encoded,
//! so ids and external ids cannot change the path), signs it with a fresh nonce and timestamp, and
//! turns error statuses into [`NetSuiteError::Api`]. Each call runs in a `netsuite.request` span with
//! the method, a path pattern (record types, never ids or values) and the status. Nothing is retried
//! here: the caller decides with [`NetSuiteError::is_retryable`].

use std::fmt;
use std::sync::Arc;

use reqwest::{header, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing::Instrument;
use url::Url;

use crate::config::NetSuiteConfig;
use crate::error::NetSuiteError;
use crate::paths::{check_external_id, id_from_location, record_id, replace_query};
use crate::tba;

/// Rows per SuiteQL page: the most NetSuite allows.
const SUITEQL_PAGE: usize = 1000;

type Record = Map<String, Value>;

/// Options of [`NetSuiteClient::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Return sublists and subrecords inline instead of as links (`expandSubResources=true`).
    pub expand_sub_resources: bool,
    /// Return only these fields (all when empty).
    pub fields: Vec<String>,
}

/// A NetSuite REST web services client. Cheap to clone: clones share connections.
#[derive(Clone)]
pub struct NetSuiteClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `{origin}/services/rest/`
    rest_base: Url,
    realm: String,
    consumer_key: String,
    consumer_secret: SecretString,
    token_id: String,
    token_secret: SecretString,
}

impl fmt::Debug for NetSuiteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetSuiteClient")
            .field("realm", &self.inner.realm)
            .field("rest_base", &self.inner.rest_base.as_str())
            .finish_non_exhaustive()
    }
}

/// A response that passed the status check.
struct Reply {
    location: Option<String>,
    body: Vec<u8>,
}

#[derive(Deserialize)]
struct SuiteQlPage {
    #[serde(rename = "hasMore")]
    has_more: bool,
    #[serde(default)]
    items: Vec<Record>,
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
        if config.consumer_key.is_empty()
            || config.token_id.is_empty()
            || config.consumer_secret.expose_secret().is_empty()
            || config.token_secret.expose_secret().is_empty()
        {
            return Err(NetSuiteError::Config(
                "consumer and token keys and secrets must not be empty".into(),
            ));
        }
        let origin = config.origin();
        let rest_base = Url::parse(&format!("{origin}/services/rest/"))
            .map_err(|e| NetSuiteError::Config(format!("base URL {origin:?}: {e}")))?;
        if !matches!(rest_base.scheme(), "https" | "http") || rest_base.host_str().is_none() {
            return Err(NetSuiteError::Config(format!(
                "base URL {origin:?} must be an http(s) URL"
            )));
        }
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
                realm: config.account_id,
                consumer_key: config.consumer_key,
                consumer_secret: config.consumer_secret,
                token_id: config.token_id,
                token_secret: config.token_secret,
            }),
        })
    }

    /// Reads one record. `id` is an internal id, or `"eid:<externalId>"`.
    pub async fn get(
        &self,
        record_type: &str,
        id: &str,
        opts: &GetOptions,
    ) -> Result<Record, NetSuiteError> {
        let id = record_id(id)?;
        let fields = opts.fields.join(",");
        let mut query = Vec::new();
        if opts.expand_sub_resources {
            query.push(("expandSubResources", "true"));
        }
        if !opts.fields.is_empty() {
            query.push(("fields", fields.as_str()));
        }
        let pattern = format!("record/v1/{record_type}/{{id}}");
        let reply = self
            .send(
                Method::GET,
                &["record", "v1", record_type, id],
                &query,
                None,
                None,
                &pattern,
            )
            .await?;
        decode(&reply.body, "record")
    }

    /// Creates a record and returns its internal id, read from the `Location` header of the
    /// 204 answer.
    pub async fn create(&self, record_type: &str, body: &Record) -> Result<String, NetSuiteError> {
        let pattern = format!("record/v1/{record_type}");
        let reply = self
            .send(
                Method::POST,
                &["record", "v1", record_type],
                &[],
                Some(encode(body)?),
                None,
                &pattern,
            )
            .await?;
        reply
            .location
            .as_deref()
            .and_then(id_from_location)
            .ok_or_else(|| NetSuiteError::Decode("create answered without a Location id".into()))
    }

    /// Updates the given fields of a record. `replace` names sublists to replace wholesale
    /// (`?replace=a,b`); other sublists are merged line by line.
    pub async fn update(
        &self,
        record_type: &str,
        id: &str,
        body: &Record,
        replace: &[&str],
    ) -> Result<(), NetSuiteError> {
        let id = record_id(id)?;
        let replace = replace.join(",");
        let query = replace_query(&replace);
        let pattern = format!("record/v1/{record_type}/{{id}}");
        self.send(
            Method::PATCH,
            &["record", "v1", record_type, id],
            &query,
            Some(encode(body)?),
            None,
            &pattern,
        )
        .await?;
        Ok(())
    }

    /// Creates or updates the record with this external id (`PUT record/v1/{type}/eid:{id}`);
    /// returns the internal id when a `Location` header came back.
    pub async fn upsert(
        &self,
        record_type: &str,
        external_id: &str,
        body: &Record,
        replace: &[&str],
    ) -> Result<Option<String>, NetSuiteError> {
        check_external_id(external_id)?;
        let id = format!("eid:{external_id}");
        let replace = replace.join(",");
        let query = replace_query(&replace);
        let pattern = format!("record/v1/{record_type}/eid:{{externalId}}");
        let reply = self
            .send(
                Method::PUT,
                &["record", "v1", record_type, &id],
                &query,
                Some(encode(body)?),
                None,
                &pattern,
            )
            .await?;
        Ok(reply.location.as_deref().and_then(id_from_location))
    }

    /// Deletes a record. `id` is an internal id, or `"eid:<externalId>"`.
    pub async fn delete(&self, record_type: &str, id: &str) -> Result<(), NetSuiteError> {
        let id = record_id(id)?;
        let pattern = format!("record/v1/{record_type}/{{id}}");
        self.send(
            Method::DELETE,
            &["record", "v1", record_type, id],
            &[],
            None,
            None,
            &pattern,
        )
        .await?;
        Ok(())
    }

    /// Runs SuiteQL (`POST query/v1/suiteql?limit=1000&offset=…`, `Prefer: transient`), following
    /// pages until `hasMore` is false. Rows come back as NetSuite returns them (lower-case column
    /// names, a `links` entry each). Order the query by a unique key, or rows can repeat or go
    /// missing between pages; NetSuite serves at most 100,000 rows of one query. Put values in the
    /// query only through [`crate::suiteql::literal`].
    pub async fn suiteql(&self, query: &str) -> Result<Vec<Record>, NetSuiteError> {
        let body = serde_json::to_vec(&json!({ "q": query }))
            .map_err(|e| NetSuiteError::Decode(format!("request body: {e}")))?;
        let limit = SUITEQL_PAGE.to_string();
        let mut rows = Vec::new();
        loop {
            let offset = rows.len().to_string();
            let reply = self
                .send(
                    Method::POST,
                    &["query", "v1", "suiteql"],
                    &[("limit", &limit), ("offset", &offset)],
                    Some(body.clone()),
                    Some("transient"),
                    "query/v1/suiteql",
                )
                .await?;
            let mut page: SuiteQlPage = decode(&reply.body, "SuiteQL page")?;
            if page.has_more && page.items.len() != SUITEQL_PAGE {
                // The next offset must be a multiple of the limit; a short page that claims more
                // would make the paging skip or repeat rows.
                return Err(NetSuiteError::Decode(format!(
                    "SuiteQL page of {} rows claims more follow",
                    page.items.len()
                )));
            }
            rows.append(&mut page.items);
            if !page.has_more {
                return Ok(rows);
            }
        }
    }

    /// Sends one signed call to `{rest_base}/{segments…}?{query}`.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        prefer: Option<&'static str>,
        pattern: &str,
    ) -> Result<Reply, NetSuiteError> {
        let span = tracing::info_span!(
            "netsuite.request",
            method = %method,
            path = pattern,
            status = tracing::field::Empty,
        );
        async {
            let url = self.url(segments, query)?;
            let authorization = tba::authorize(
                method.as_str(),
                &url,
                &self.inner.realm,
                tba::Credentials {
                    consumer_key: &self.inner.consumer_key,
                    consumer_secret: self.inner.consumer_secret.expose_secret(),
                    token: &self.inner.token_id,
                    token_secret: self.inner.token_secret.expose_secret(),
                },
                &tba::nonce(),
                &tba::timestamp(),
            );
            let mut request = self
                .inner
                .http
                .request(method, url)
                .header(header::AUTHORIZATION, authorization)
                .header(header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body);
            }
            if let Some(prefer) = prefer {
                request = request.header("Prefer", prefer);
            }
            let response = request.send().await?;
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await?.to_vec();
            if !status.is_success() {
                return Err(NetSuiteError::from_response(status.as_u16(), &body));
            }
            Ok(Reply { location, body })
        }
        .instrument(span)
        .await
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, NetSuiteError> {
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

fn encode(body: &Record) -> Result<Vec<u8>, NetSuiteError> {
    serde_json::to_vec(body).map_err(|e| NetSuiteError::Decode(format!("request body: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, NetSuiteError> {
    serde_json::from_slice(body).map_err(|e| NetSuiteError::Decode(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;

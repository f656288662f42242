//! One routing table for the REST API under `/services/data/vNN.N/`, shared by the HTTP handler and
//! by Composite subrequests, so a subrequest behaves exactly as the same call made on its own.
//!
//! Every operation is synchronous and runs against the org's database through a [`Call`], which
//! holds the database lock for the whole call: a Composite request or an sObject Collections
//! request is therefore atomic with respect to other clients, and can roll back with a savepoint.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::store::{Db, Stamp};
use super::{changes, collections, composite, metadata, query, sobjects, version_of, Org};
use crate::time::sf_timestamp;
use crate::Sandbox;

/// One API request, already split: the path below `/services/data/vNN.N/`, decoded segments.
pub struct Request {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// The query batch size asked for in `Sforce-Query-Options: batchSize=N` (direct calls only).
    pub batch_size: Option<usize>,
}

impl Request {
    /// Parses `url` (a path with an optional query string, as in a Composite subrequest).
    /// Returns the API version and the request, or `None` when the path is not a REST API path.
    pub fn parse(method: Method, url: &str, body: Option<Value>) -> Option<(String, Self)> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut segments = path.strip_prefix("/services/data/")?.split('/').map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        });
        let version = version_of(&segments.next()?).ok()?.to_owned();
        let mut segments: Vec<String> = segments.collect();
        while segments.last().is_some_and(String::is_empty) {
            segments.pop();
        }
        let query = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Some((
            version,
            Self {
                method,
                segments,
                query,
                body,
                batch_size: None,
            },
        ))
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What an operation answers: status, extra headers and an optional JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn from_error(error: &ApiError) -> Self {
        Self::json(error.status, error.body())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// The org and its locked database for the duration of one API call, as the integration user.
pub struct Call<'a> {
    pub org: &'a Org,
    pub db: &'a mut Db,
    pub version: String,
    /// Set by an all-or-none Composite request: nested Collections requests are all-or-none too.
    pub force_all_or_none: bool,
    /// The call's time, stamped on every record it creates or changes: as in Salesforce, the
    /// records one request saves share their `CreatedDate` / `SystemModstamp`.
    pub at: String,
}

impl Call<'_> {
    pub fn insert(
        &mut self,
        object: &'static super::schema::SObject,
        fields: &Map<String, Value>,
    ) -> Result<String, ApiError> {
        let stamp = Stamp {
            user_id: &self.org.integration_user_id,
            at: &self.at,
        };
        self.db.insert(object, fields, &stamp)
    }

    pub fn update(
        &mut self,
        object: &'static super::schema::SObject,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        let stamp = Stamp {
            user_id: &self.org.integration_user_id,
            at: &self.at,
        };
        self.db.update(object, id, fields, &stamp)
    }

    /// `/services/data/vNN.N/sobjects/{Object}/{id}`.
    pub fn record_url(&self, object: &str, id: &str) -> String {
        format!("/services/data/v{}/sobjects/{object}/{id}", self.version)
    }
}

/// Runs one request (not Composite itself: a Composite request cannot nest another).
pub fn route(call: &mut Call, request: &Request) -> Result<Reply, ApiError> {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let body = request.body.as_ref();
    let method = &request.method;
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["limits"]) => Ok(metadata::limits(call.org)),
        ("GET", ["sobjects"]) => Ok(metadata::describe_global(&call.version)),
        ("GET", ["sobjects", object]) => metadata::basic_info(object, &call.version),
        ("POST", ["sobjects", object]) => sobjects::create(call, object, body),
        ("GET", ["sobjects", object, "describe"]) => {
            metadata::describe(object, &call.version, &call.org.drift)
        }
        ("GET", ["sobjects", object, "updated"]) => changes::updated(call, object, request),
        ("GET", ["sobjects", object, "deleted"]) => changes::deleted(call, object, request),
        ("GET", ["sobjects", object, id]) => sobjects::read(call, object, id, request),
        ("PATCH", ["sobjects", object, id]) => sobjects::update(call, object, id, body),
        ("DELETE", ["sobjects", object, id]) => sobjects::delete(call, object, id),
        ("GET", ["sobjects", object, field, value]) => {
            sobjects::read_by_external_id(call, object, field, value, request)
        }
        ("PATCH", ["sobjects", object, field, value]) => {
            sobjects::upsert(call, object, field, value, body)
        }
        ("DELETE", ["sobjects", object, field, value]) => {
            sobjects::delete_by_external_id(call, object, field, value)
        }
        ("GET", ["query"]) => query::query(call, request, false),
        ("GET", ["queryAll"]) => query::query(call, request, true),
        ("GET", ["query" | "queryAll", locator]) => query::query_more(call, locator),
        ("POST", ["composite", "sobjects"]) => collections::create(call, body),
        ("PATCH", ["composite", "sobjects"]) => collections::update(call, body),
        ("DELETE", ["composite", "sobjects"]) => collections::delete(call, request),
        ("GET", ["composite", "sobjects", object]) => collections::retrieve(call, object, request),
        ("POST", ["composite", "sobjects", object]) => {
            // Retrieve with the ids in the body (for long id lists).
            collections::retrieve_by_body(call, object, body)
        }
        ("PATCH", ["composite", "sobjects", object, field]) => {
            collections::upsert(call, object, field, body)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// `ANY /services/data/{version}/{*rest}`: every REST API call made over HTTP.
pub async fn serve(
    State(sandbox): State<Sandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let url = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let Some((version, mut request)) = Request::parse(method, url, body) else {
        return ApiError::not_found().into_response();
    };
    request.batch_size = query::batch_size(&headers);
    let org = &sandbox.inner.org;
    let mut db = org.db();
    let mut call = Call {
        org,
        db: &mut db,
        version,
        force_all_or_none: false,
        at: sf_timestamp(org.now()),
    };
    let result = if request.method == Method::POST && request.segments == ["composite"] {
        composite::run(&mut call, request.body.as_ref())
    } else {
        route(&mut call, &request)
    };
    match result {
        Ok(reply) => reply.into_response(),
        Err(error) => error.into_response(),
    }
}

fn parse_json(body: &Bytes) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        ApiError::bad_request(
            "JSON_PARSER_ERROR",
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

/// The body as an sObject's fields, or the error Salesforce gives for anything else.
pub fn record_body(body: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    match body {
        Some(Value::Object(map)) => Ok(map.clone()),
        _ => Err(ApiError::bad_request(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of an sObject from a non-object value",
        )),
    }
}

//! Composite: `POST composite` runs up to 25 subrequests in order as one API call, each able to
//! use earlier results through `@{refId.path}` references. At most 5 of them may be queries or
//! sObject Collections, counted together ("Up to 5 of these subrequests can be sObject
//! Collections or query operations, including Query and QueryAll requests"): a query, a
//! queryAll, the next batch of a query (`query/<locator>`) and any `composite/sobjects` call.
//! Past either limit nothing runs and the request answers 400 `LIMIT_EXCEEDED`.
//!
//! - `allOrNone: true`: the whole request runs inside one savepoint; at the first failure the
//!   remaining subrequests are not run, every write is undone, the failing subrequest keeps its
//!   error and every other one answers 400 `PROCESSING_HALTED`. Nested sObject Collections
//!   requests become all-or-none too.
//! - `allOrNone: false`: a failed subrequest's writes stand or fall alone; later subrequests that
//!   reference it answer 400 `PROCESSING_HALTED`, the others run.
//!
//! `collateSubrequests` is accepted and ignored: running in request order is always a valid
//! execution order. The top-level answer is 200 for any well-formed request.

mod references;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::rest::{route, Call, Reply, Request};
use references::Results;

/// Subrequests one Composite request may carry.
pub const MAX_SUBREQUESTS: usize = 25;
/// Query and sObject Collections subrequests, together, one Composite request may carry.
pub const MAX_QUERIES: usize = 5;

struct Subrequest {
    method: Method,
    url: String,
    reference_id: String,
    body: Option<Value>,
}

pub fn run(call: &mut Call, body: Option<&Value>) -> Result<Reply, ApiError> {
    let all_or_none = flag(body, "allOrNone");
    let subrequests = match parse(body) {
        Ok(subrequests) => subrequests,
        Err(Malformed::OverLimit(message)) => return Ok(over_limit(&message)),
        Err(Malformed::Invalid(error)) => return Err(error),
    };
    call.db.savepoint()?;
    let outer_force = call.force_all_or_none;
    call.force_all_or_none = all_or_none;
    let mut results = Results::new();
    let mut responses: Vec<Reply> = Vec::with_capacity(subrequests.len());
    let mut failed_at = None;
    for (index, sub) in subrequests.iter().enumerate() {
        let reply = execute(call, sub, &results);
        let ok = reply.status.is_success();
        results.insert(
            sub.reference_id.clone(),
            ok.then(|| reply.body.clone().unwrap_or(Value::Null)),
        );
        responses.push(reply);
        if !ok && all_or_none {
            failed_at = Some(index);
            break;
        }
    }
    call.force_all_or_none = outer_force;
    call.db.release(failed_at.is_none())?;
    let entries: Vec<Value> = subrequests
        .iter()
        .enumerate()
        .map(|(index, sub)| {
            let reply = match failed_at {
                Some(failed) if index != failed => halted(
                    "The transaction was rolled back since another operation in the same transaction failed.",
                ),
                _ => responses[index].clone(),
            };
            entry(&sub.reference_id, reply)
        })
        .collect();
    Ok(Reply::ok(json!({ "compositeResponse": entries })))
}

/// Resolves references, then runs the subrequest through the same routes as a direct call.
fn execute(call: &mut Call, sub: &Subrequest, results: &Results) -> Reply {
    let resolved = references::resolve_text(&sub.url, results).and_then(|url| {
        let body = sub
            .body
            .as_ref()
            .map(|b| references::resolve_value(b, results))
            .transpose()?;
        Ok((url, body))
    });
    let (url, body) = match resolved {
        Ok(resolved) => resolved,
        Err(unresolved) => {
            return halted(&format!(
                "Invalid reference specified. No value for {} found in {}. Provided referenceId ('{}') must be a previously executed, successful subrequest.",
                unresolved.expression, unresolved.reference_id, unresolved.reference_id
            ))
        }
    };
    let Some((version, request)) = Request::parse(sub.method.clone(), &url, body) else {
        return Reply::from_error(&ApiError::not_found());
    };
    if request.segments.first().is_some_and(|s| s == "composite") && request.segments.len() == 1 {
        return Reply::from_error(&ApiError::bad_request(
            "INVALID_INPUT",
            "A Composite request cannot contain another Composite request",
        ));
    }
    let outer_version = std::mem::replace(&mut call.version, version);
    let reply = route(call, &request).unwrap_or_else(|e| Reply::from_error(&e));
    call.version = outer_version;
    reply
}

fn entry(reference_id: &str, reply: Reply) -> Value {
    let headers: Map<String, Value> = reply
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value)))
        .collect();
    json!({
        "body": reply.body.unwrap_or(Value::Null),
        "httpHeaders": headers,
        "httpStatusCode": reply.status.as_u16(),
        "referenceId": reference_id,
    })
}

fn halted(message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!([{ "errorCode": "PROCESSING_HALTED", "message": message }]),
    )
}

fn flag(body: Option<&Value>, name: &str) -> bool {
    body.and_then(|b| b.get(name))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

enum Malformed {
    /// Too many subrequests or queries.
    OverLimit(String),
    Invalid(ApiError),
}

impl From<ApiError> for Malformed {
    fn from(error: ApiError) -> Self {
        Self::Invalid(error)
    }
}

/// Checks the request as a whole before anything runs: a malformed request is 400 with no
/// subrequest run.
fn parse(body: Option<&Value>) -> Result<Vec<Subrequest>, Malformed> {
    let items = body
        .and_then(|b| b.get("compositeRequest"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request(
                "JSON_PARSER_ERROR",
                "The request body must carry a compositeRequest array",
            )
        })?;
    if items.len() > MAX_SUBREQUESTS {
        return Err(Malformed::OverLimit(format!(
            "The request can’t contain more than {MAX_SUBREQUESTS} operations."
        )));
    }
    let mut seen = HashSet::new();
    let mut queries = 0;
    let mut subrequests = Vec::with_capacity(items.len());
    for item in items {
        let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(method), Some(url), Some(reference_id)) =
            (text("method"), text("url"), text("referenceId"))
        else {
            return Err(ApiError::bad_request(
                "INVALID_INPUT",
                "Each subrequest needs a method, a url and a referenceId",
            )
            .into());
        };
        if reference_id.is_empty()
            || !reference_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ApiError::bad_request(
                "INVALID_INPUT",
                format!("Invalid referenceId: {reference_id}. A referenceId may contain only letters, numbers and underscores"),
            )
            .into());
        }
        if !seen.insert(reference_id.clone()) {
            return Err(ApiError::bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId: {reference_id}"),
            )
            .into());
        }
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            ApiError::bad_request("INVALID_INPUT", format!("Invalid method: {method}"))
        })?;
        if is_query_or_collection(&url) {
            queries += 1;
        }
        subrequests.push(Subrequest {
            method,
            url,
            reference_id,
            body: item.get("body").cloned(),
        });
    }
    if queries > MAX_QUERIES {
        // The wording of this limit's error is *unconfirmed*.
        return Err(Malformed::OverLimit(format!(
            "The request can’t contain more than {MAX_QUERIES} query or sObject Collections operations."
        )));
    }
    Ok(subrequests)
}

/// Whether a subrequest's url is a query (`query`, `queryAll`, or the next batch of one,
/// `query/<locator>`) or an sObject Collections call (`composite/sobjects…`).
fn is_query_or_collection(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The resource starts after `/services/data/vXX.X`.
    let resource = match segments.iter().position(|s| *s == "data") {
        Some(at) => segments.get(at + 2..).unwrap_or_default(),
        None => &segments[..],
    };
    matches!(resource.first(), Some(&("query" | "queryAll")))
        || resource.starts_with(&["composite", "sobjects"])
}

/// As Salesforce has been seen to answer an over-limit Composite request: HTTP 400 with one
/// `compositeResponse` entry whose `referenceId` is null.
fn over_limit(message: &str) -> Reply {
    let error = json!([{ "errorCode": "LIMIT_EXCEEDED", "message": message }]);
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({ "compositeResponse": [{ "body": error, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": null }] }),
    )
}

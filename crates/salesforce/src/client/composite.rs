//! Composite: up to 25 subrequests in one call (one API call against the daily allocation), later
//! ones referring to earlier results with `@{referenceId.field}`.
//!
//! Limits are checked before anything is sent: at most 25 subrequests, at most 5 of them queries
//! or sObject Collections calls counted together (Salesforce: "Up to 5 of these subrequests can
//! be sObject Collections or query operations"), reference ids unique and made of letters,
//! digits and `_` (starting with a letter). [`composite_batches`] cuts a longer list into
//! calls that keep to both limits.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{decode, SalesforceClient};
use crate::error::SalesforceError;

/// The most subrequests one composite call takes.
pub const COMPOSITE_LIMIT: usize = 25;
/// The most query and sObject Collections subrequests, together, one composite call takes.
pub const COMPOSITE_QUERY_LIMIT: usize = 5;

/// One subrequest of [`SalesforceClient::composite`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubrequest {
    /// `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// A path relative to the versioned data path (`sobjects/Account`), or a full
    /// `/services/data/vXX.X/...` path.
    pub url: String,
    pub reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl CompositeSubrequest {
    pub fn new(method: &str, url: impl Into<String>, reference_id: impl Into<String>) -> Self {
        Self {
            method: method.to_owned(),
            url: url.into(),
            reference_id: reference_id.into(),
            body: None,
        }
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// The answer to one subrequest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    /// The subrequest's answer body: a record, a save result, or an error array.
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub http_headers: BTreeMap<String, String>,
    pub http_status_code: u16,
    pub reference_id: String,
}

impl CompositeSubresponse {
    /// The subrequest succeeded (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status_code)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeResponse {
    composite_response: Vec<CompositeSubresponse>,
}

impl SalesforceClient {
    /// Sends up to 25 subrequests as one call (`POST composite`). Under `all_or_none`, one failure
    /// rolls every subrequest back. The answers come back in request order.
    pub async fn composite(
        &self,
        requests: Vec<CompositeSubrequest>,
        all_or_none: bool,
    ) -> Result<Vec<CompositeSubresponse>, SalesforceError> {
        check_composite(&requests)?;
        let data_path = self.inner.data_path.trim_end_matches('/');
        let requests: Vec<CompositeSubrequest> = requests
            .into_iter()
            .map(|mut r| {
                if !r.url.starts_with('/') {
                    r.url = format!("{data_path}/{}", r.url);
                }
                r
            })
            .collect();
        let body = json!({ "allOrNone": all_or_none, "compositeRequest": requests });
        let body = serde_json::to_vec(&body)
            .map_err(|e| SalesforceError::Decode(format!("request body: {e}")))?;
        let reply = self
            .send(
                reqwest::Method::POST,
                "composite",
                &[],
                Some(body),
                "composite",
            )
            .await?;
        let response: CompositeResponse = decode(&reply.body, "composite response")?;
        Ok(response.composite_response)
    }
}

fn check_composite(requests: &[CompositeSubrequest]) -> Result<(), SalesforceError> {
    let invalid = |message: String| Err(SalesforceError::InvalidRequest(message));
    if requests.is_empty() {
        return invalid("composite: no subrequests".into());
    }
    if requests.len() > COMPOSITE_LIMIT {
        return invalid(format!(
            "composite: {} subrequests, at most {COMPOSITE_LIMIT} allowed",
            requests.len()
        ));
    }
    let queries = requests
        .iter()
        .filter(|r| is_query_or_collection(&r.url))
        .count();
    if queries > COMPOSITE_QUERY_LIMIT {
        return invalid(format!(
            "composite: {queries} queries and sObject Collections calls, at most \
             {COMPOSITE_QUERY_LIMIT} allowed"
        ));
    }
    let mut seen = HashSet::new();
    for request in requests {
        let id = &request.reference_id;
        let well_formed = id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return invalid(format!(
                "composite: reference id {id:?} is not an identifier"
            ));
        }
        if !seen.insert(id.as_str()) {
            return invalid(format!("composite: reference id {id:?} is used twice"));
        }
        if !matches!(
            request.method.as_str(),
            "GET" | "POST" | "PATCH" | "PUT" | "DELETE" | "HEAD"
        ) {
            return invalid(format!("composite: method {:?}", request.method));
        }
    }
    Ok(())
}

/// Cuts `requests` into runs, in order, each within one composite call's limits (25
/// subrequests, 5 queries or sObject Collections calls). A subrequest can refer only to
/// earlier ones of its own run: a caller whose subrequests refer to each other either keeps
/// them in one run or carries the values over itself.
pub fn composite_batches(requests: Vec<CompositeSubrequest>) -> Vec<Vec<CompositeSubrequest>> {
    let mut batches: Vec<Vec<CompositeSubrequest>> = Vec::new();
    let mut heavy = 0;
    for request in requests {
        let is_heavy = is_query_or_collection(&request.url);
        let fits = batches.last().is_some_and(|batch| {
            batch.len() < COMPOSITE_LIMIT && (!is_heavy || heavy < COMPOSITE_QUERY_LIMIT)
        });
        if !fits {
            batches.push(Vec::new());
            heavy = 0;
        }
        if is_heavy {
            heavy += 1;
        }
        batches.last_mut().expect("a batch").push(request);
    }
    batches
}

/// A query (`query`, `queryAll`, or the next batch of one, `query/<locator>`) or an sObject
/// Collections call (`composite/sobjects…`), relative to the data path or as a full path.
fn is_query_or_collection(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // A full path's resource starts after `/services/data/vXX.X`.
    let resource = match segments.iter().position(|s| *s == "data") {
        Some(at) if path.starts_with('/') => segments.get(at + 2..).unwrap_or_default(),
        _ => &segments[..],
    };
    matches!(resource.first(), Some(&("query" | "queryAll")))
        || resource.starts_with(&["composite", "sobjects"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(i: usize) -> CompositeSubrequest {
        CompositeSubrequest::new("GET", format!("sobjects/Account/{i}"), format!("r{i}"))
    }

    #[test]
    fn more_than_25_subrequests_are_refused_before_sending() {
        let requests: Vec<_> = (0..26).map(get).collect();
        assert!(matches!(
            check_composite(&requests),
            Err(SalesforceError::InvalidRequest(_))
        ));
        assert!(check_composite(&requests[..25]).is_ok());
    }

    #[test]
    fn more_than_5_queries_are_refused() {
        let requests: Vec<_> = (0..6)
            .map(|i| {
                CompositeSubrequest::new("GET", "query?q=SELECT+Id+FROM+Account", format!("q{i}"))
            })
            .collect();
        assert!(check_composite(&requests).is_err());
        assert!(check_composite(&requests[..5]).is_ok());
    }

    #[test]
    fn queries_and_collections_count_together() {
        let collection =
            |i: usize| CompositeSubrequest::new("PATCH", "composite/sobjects", format!("c{i}"));
        let more = CompositeSubrequest::new(
            "GET",
            "/services/data/v61.0/query/01gD0000002HU6KIAW-2000",
            "more",
        );
        let mut requests: Vec<_> = (0..5).map(collection).collect();
        assert!(check_composite(&requests).is_ok());
        requests.push(more);
        assert!(check_composite(&requests).is_err());
        // A record whose id happens to read "query" is not a query.
        let record = CompositeSubrequest::new("GET", "sobjects/Account/Name/query", "r");
        assert!(!is_query_or_collection(&record.url));
    }

    #[test]
    fn batches_keep_order_and_both_limits() {
        let query = |i: usize| {
            CompositeSubrequest::new("GET", "query?q=SELECT+Id+FROM+Account", format!("q{i}"))
        };
        // 12 queries, then 30 single-record reads.
        let requests: Vec<_> = (0..12).map(query).chain((0..30).map(get)).collect();
        let batches = composite_batches(requests.clone());
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [5, 5, 25, 7]
        );
        for batch in &batches {
            assert!(check_composite(batch).is_ok());
        }
        assert_eq!(
            batches.concat(),
            requests,
            "every subrequest once, in order"
        );
        assert!(composite_batches(Vec::new()).is_empty());
    }

    #[test]
    fn reference_ids_must_be_unique_identifiers() {
        assert!(check_composite(&[get(1), get(1)]).is_err());
        let bad = CompositeSubrequest::new("GET", "sobjects/Account/1", "1st");
        assert!(check_composite(&[bad]).is_err());
        let bad = CompositeSubrequest::new("GET", "sobjects/Account/1", "a.b");
        assert!(check_composite(&[bad]).is_err());
        assert!(check_composite(&[]).is_err());
    }

    #[test]
    fn subrequests_serialize_in_the_wire_shape() {
        let request = CompositeSubrequest::new("POST", "sobjects/Account", "newAccount")
            .with_body(json!({ "Name": "Acme" }));
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "method": "POST",
                "url": "sobjects/Account",
                "referenceId": "newAccount",
                "body": { "Name": "Acme" }
            })
        );
    }
}

//! Composite: up to 25 subrequests in one call (one API call against the daily allocation), later
//! ones referring to earlier results with `@{referenceId.field}`.
//!
//! Limits are checked before anything is sent: at most 25 subrequests, at most 5 of them queries,
//! reference ids unique and made of letters, digits and `_` (starting with a letter).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{decode, SalesforceClient};
use crate::error::SalesforceError;

/// The most subrequests one composite call takes.
pub const COMPOSITE_LIMIT: usize = 25;
/// The most query subrequests one composite call takes.
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
    let queries = requests.iter().filter(|r| is_query(&r.url)).count();
    if queries > COMPOSITE_QUERY_LIMIT {
        return invalid(format!(
            "composite: {queries} queries, at most {COMPOSITE_QUERY_LIMIT} allowed"
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

fn is_query(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    path.ends_with("/query") || path == "query" || path.ends_with("/queryAll") || path == "queryAll"
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

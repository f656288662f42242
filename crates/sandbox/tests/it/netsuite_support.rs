//! Helpers for NetSuite tests beyond `/services/rest/`: signed requests to any path, RESTlets.

use reqwest::Method;
use serde_json::Value;

use crate::harness::Harness;
use crate::signer::{authorization, Options};

/// A TBA-signed request to `{ns}/{path_and_query}` (query parameters are signed too).
pub async fn signed(
    h: &Harness,
    method: Method,
    path_and_query: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("{}/{path_and_query}", h.ns);
    let auth = authorization(method.as_str(), &url, &Options::default());
    let mut request = h.http.request(method, url).header("authorization", auth);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// `app/site/hosting/restlet.nl?script=…&deploy=…` plus extra query parameters.
pub fn restlet_path(script: &str, deploy: &str, extra: &str) -> String {
    let mut path = format!("app/site/hosting/restlet.nl?script={script}&deploy={deploy}");
    if !extra.is_empty() {
        path.push('&');
        path.push_str(extra);
    }
    path
}

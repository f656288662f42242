//! RESTlets: SuiteScript endpoints at `{restlet origin}/app/site/hosting/restlet.nl?script=&deploy=`.
//!
//! They are authenticated like every other call (TBA signs over `script`, `deploy` and the other
//! query parameters; an OAuth 2.0 token needs the `restlets` scope) and count against the same
//! account concurrency limit, where they answer 400 `SSS_REQUEST_LIMIT_EXCEEDED`. A RESTlet
//! answers whatever its script returns: JSON comes back as is, an empty body as `null`, any other
//! text as a JSON string.

use reqwest::Method;
use serde_json::Value;

use super::{Call, NetSuiteClient};
use crate::error::NetSuiteError;

impl NetSuiteClient {
    /// Calls a RESTlet. `GET` and `DELETE` pass their arguments in `params`; `POST` and `PUT` in
    /// `body` (sent as JSON), `params` being added to the query string for any method.
    pub async fn restlet(
        &self,
        method: Method,
        script: &str,
        deploy: &str,
        params: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, NetSuiteError> {
        if script.is_empty() || deploy.is_empty() {
            return Err(NetSuiteError::Config(
                "a RESTlet call needs a script and a deploy id".into(),
            ));
        }
        if let Some((name, _)) = params
            .iter()
            .find(|(name, _)| matches!(*name, "script" | "deploy"))
        {
            return Err(NetSuiteError::Config(format!(
                "RESTlet parameter {name:?} would override the deployment"
            )));
        }
        let mut url = self.inner.restlet_url.clone();
        url.query_pairs_mut()
            .append_pair("script", script)
            .append_pair("deploy", deploy)
            .extend_pairs(params);
        let pattern = format!("restlet.nl?script={script}&deploy={deploy}");
        let mut call = Call::new(method, url, &pattern);
        if let Some(body) = body {
            call = call.json(body)?;
        }
        let reply = self.send(call).await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&reply.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into_owned())))
    }
}

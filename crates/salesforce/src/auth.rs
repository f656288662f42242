//! OAuth 2.0 access tokens for the REST API.
//!
//! [`Grant`] names how a token is obtained: client credentials, or JWT bearer (a fresh RS256
//! assertion signed for every token request). [`TokenCache`] holds the current [`Session`] behind one
//! async mutex held across the token request, so any number of concurrent calls that find no token
//! wait for a single request (single flight). Salesforce does not say when a token expires (the
//! session timeout is an org setting), so a session is kept until a call answers 401 `INVALID_SESSION_ID`; the client then
//! calls [`TokenCache::refresh`] with the session that failed, and only the first such caller fetches.

use std::sync::Arc;

use isthmus_jwt::SigningKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::SalesforceError;
use crate::jwt;

/// How the client proves who it is to the token endpoint.
pub(crate) enum Grant {
    /// `grant_type=client_credentials` with the connected app's key and secret in the form.
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with a signed assertion.
    JwtBearer {
        client_id: String,
        username: String,
        audience: String,
        /// Boxed: an RSA key pair is large next to the other grant.
        key: Box<SigningKey>,
    },
}

impl Grant {
    /// The token request's form; a JWT bearer grant signs a new assertion.
    fn form(&self) -> Result<Vec<(&'static str, String)>, SalesforceError> {
        Ok(match self {
            Self::ClientCredentials {
                client_id,
                client_secret,
            } => vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose_secret().to_owned()),
            ],
            Self::JwtBearer {
                client_id,
                username,
                audience,
                key,
            } => vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                ),
                (
                    "assertion",
                    jwt::assertion(key, client_id, username, audience)?,
                ),
            ],
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::ClientCredentials { .. } => "client_credentials",
            Self::JwtBearer { .. } => "jwt_bearer",
        }
    }
}

/// An access token and the org instance it is valid for.
pub(crate) struct Session {
    pub(crate) access_token: SecretString,
    /// `instance_url` without a trailing slash.
    pub(crate) instance_url: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: String,
}

pub(crate) struct TokenCache {
    token_url: String,
    grant: Grant,
    current: Mutex<Option<Arc<Session>>>,
}

impl TokenCache {
    pub(crate) fn new(token_url: String, grant: Grant) -> Self {
        Self {
            token_url,
            grant,
            current: Mutex::new(None),
        }
    }

    /// The cached session, fetching one first when there is none.
    pub(crate) async fn session(
        &self,
        http: &reqwest::Client,
    ) -> Result<Arc<Session>, SalesforceError> {
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let session = Arc::new(self.fetch(http).await?);
        *current = Some(session.clone());
        Ok(session)
    }

    /// Replaces `stale` with a fresh session. When another caller already replaced it, that
    /// newer session is returned without another token request.
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        stale: &Arc<Session>,
    ) -> Result<Arc<Session>, SalesforceError> {
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref() {
            if !Arc::ptr_eq(session, stale) {
                return Ok(session.clone());
            }
        }
        *current = None;
        let session = Arc::new(self.fetch(http).await?);
        *current = Some(session.clone());
        Ok(session)
    }

    #[tracing::instrument(
        name = "salesforce.token",
        skip_all,
        fields(
            otel.name = "Salesforce POST oauth2/token",
            otel.kind = "client",
            grant = self.grant.kind(),
            status = tracing::field::Empty
        )
    )]
    async fn fetch(&self, http: &reqwest::Client) -> Result<Session, SalesforceError> {
        let mut request = http.post(&self.token_url).form(&self.grant.form()?);
        if let Some(traceparent) = isthmus_telemetry::current_traceparent() {
            request = request.header("traceparent", traceparent);
        }
        let started = std::time::Instant::now();
        let sent = request.send().await;
        isthmus_telemetry::metrics::upstream_call(
            "salesforce",
            "oauth2/token",
            sent.as_ref().ok().map(|r| r.status().as_u16()),
            started.elapsed().as_secs_f64(),
        );
        let response = sent?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<TokenError>(&body) {
                Ok(refused) => SalesforceError::Auth {
                    error: refused.error,
                    description: refused.error_description,
                },
                Err(_) => SalesforceError::from_response(status.as_u16(), &body),
            });
        }
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| SalesforceError::Decode(format!("token response: {e}")))?;
        Ok(Session {
            access_token: token.access_token.into(),
            instance_url: token.instance_url.trim_end_matches('/').to_owned(),
        })
    }
}

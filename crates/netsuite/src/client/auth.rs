//! How a call is authenticated: a TBA signature computed per attempt (fresh nonce and timestamp,
//! after the slot is taken, so a long wait for a slot cannot age the timestamp), or an OAuth 2.0
//! bearer token fetched before the slot is taken (the token request takes a slot of its own).

use std::sync::Arc;

use reqwest::Method;
use secrecy::ExposeSecret;

use super::{decode, Auth, Call, NetSuiteClient};
use crate::error::NetSuiteError;
use crate::oauth2::{Bearer, TokenResponse, TokenSource};
use crate::tba;

impl NetSuiteClient {
    /// The OAuth 2.0 bearer token to send, fetched (in a slot of its own, before the call takes
    /// its slot) when there is none; `None` with token-based authentication.
    pub(super) async fn bearer(&self) -> Result<Option<Arc<Bearer>>, NetSuiteError> {
        match &self.inner.auth {
            Auth::Tba { .. } => Ok(None),
            Auth::OAuth2(tokens) => tokens.bearer(|| self.fetch_token(tokens)).await.map(Some),
        }
    }

    async fn fetch_token(&self, tokens: &TokenSource) -> Result<TokenResponse, NetSuiteError> {
        let assertion = tokens.assertion()?;
        let mut call = Call::new(
            Method::POST,
            tokens.token_url.clone(),
            "auth/oauth2/v1/token",
        )
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ]);
        call.authenticate = false;
        // Boxed: `send` awaits this through `bearer`, so the future would contain itself.
        let reply = Box::pin(self.send(call)).await?;
        decode(&reply.body, "token response")
    }

    pub(super) fn authorization(
        &self,
        call: &Call<'_>,
        bearer: Option<&Bearer>,
    ) -> Result<String, NetSuiteError> {
        Ok(match &self.inner.auth {
            Auth::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => tba::authorize(
                call.method.as_str(),
                &call.url,
                &self.inner.realm,
                tba::Credentials {
                    consumer_key,
                    consumer_secret: consumer_secret.expose_secret(),
                    token: token_id,
                    token_secret: token_secret.expose_secret(),
                },
                &tba::nonce(),
                &tba::timestamp(),
            ),
            Auth::OAuth2(_) => {
                let bearer = bearer.ok_or_else(|| {
                    NetSuiteError::Config("no OAuth 2.0 token for an authenticated call".into())
                })?;
                format!("Bearer {}", bearer.access_token.expose_secret())
            }
        })
    }
}

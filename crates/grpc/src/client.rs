//! The client side of gRPC security: what a process presents when it calls a service (the
//! gateway's channels, the orders service's client of the customers service). A
//! [`ClientSecurity`] makes lazily connected [`TracedChannel`]s whose every call carries the
//! current trace and this process's bearer token (`authorization` metadata, sensitive), over
//! TLS (the services' CA, and a client certificate for mTLS) when the URL is `https://`.

use std::time::Duration;

use isthmus_telemetry::TracedChannel;
use secrecy::{ExposeSecret, SecretString};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::ServeError;

/// This process's credential towards the services, and how it trusts them.
#[derive(Clone, Default)]
pub struct ClientSecurity {
    authorization: Option<AsciiMetadataValue>,
    tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for ClientSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecurity")
            .field("token", &self.authorization.as_ref().map(|_| "[set]"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl ClientSecurity {
    /// Calls carry `Bearer <token>` when a token is given.
    pub fn new(token: Option<&SecretString>) -> Result<Self, ServeError> {
        let authorization = token
            .map(|token| {
                let mut value =
                    AsciiMetadataValue::try_from(format!("Bearer {}", token.expose_secret()))
                        .map_err(|_| {
                            ServeError::Credential(
                                "the gRPC token must be visible ASCII (no spaces or newlines)"
                                    .into(),
                            )
                        })?;
                value.set_sensitive(true);
                Ok::<_, ServeError>(value)
            })
            .transpose()?;
        Ok(Self {
            authorization,
            tls: None,
        })
    }

    /// Over TLS to `https://` URLs: the services' certificates verified against `ca_pem`, and
    /// `identity` (certificate and key PEM) presented for mTLS when given.
    pub fn with_tls(mut self, ca_pem: &str, identity: Option<(&str, &str)>) -> Self {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        self.tls = Some(tls);
        self
    }

    /// Whether calls carry a bearer token.
    pub fn has_token(&self) -> bool {
        self.authorization.is_some()
    }

    /// A channel to `url`, connected on first use, presenting this credential on every call.
    pub fn channel(&self, url: &str) -> Result<TracedChannel, tonic::transport::Error> {
        let mut endpoint = Endpoint::from_shared(url.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        if let Some(tls) = &self.tls {
            if url.starts_with("https://") {
                endpoint = endpoint.tls_config(tls.clone())?;
            }
        }
        Ok(isthmus_telemetry::traced_as(
            endpoint.connect_lazy(),
            self.authorization.clone(),
        ))
    }
}

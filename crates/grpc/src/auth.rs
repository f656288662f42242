//! Authentication of every gRPC call, as one tower layer ([`AuthLayer`]) that [`crate::serve`]
//! puts in front of every service, so no handler checks a credential itself.
//!
//! A call names its caller by either
//! - a bearer token (`authorization: Bearer <token>` metadata), one of [`ServerAuth`]'s tokens
//!   (the `grpc.tokens` secret, `name:scope+scope:token`, compared in constant time by
//!   [`ApiKeys`]); or
//! - a client certificate (mTLS): rustls has already verified it against the client CA at the
//!   handshake; its caller is the first configured caller name (`grpc.callers`) that the
//!   certificate is valid for as a DNS name of its subjectAltName.
//!
//! A token, when presented, decides (a bad token is refused even beside a good certificate).
//! What the call needs comes from [`crate::access`]. No credential, or one that names no
//! caller → `UNAUTHENTICATED`; a caller without the scope → `PERMISSION_DENIED`; both answered
//! here, before the service runs, so a refused call reads and writes nothing. The caller is
//! put in the request's extensions for the handlers. A token is never logged or echoed.
//!
//! [`ServerAuth::open`] (no credential configured, `grpc.allow_unauthenticated`) passes every
//! call: only for an explicit opt-out, never a default.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use isthmus_proto::ErrorCode;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::access::{need, Need};
use crate::keys::{ApiKeys, Caller, Scope};

/// Who may call the services: bearer tokens and mTLS caller names with their scopes.
#[derive(Debug, Clone, Default)]
pub struct ServerAuth {
    tokens: ApiKeys,
    /// mTLS caller names (DNS names a client certificate carries) and their scopes.
    callers: Vec<Caller>,
    open: bool,
}

impl ServerAuth {
    /// Calls authenticated by one of `tokens` or by a client certificate naming one of
    /// `callers` (name → scopes).
    pub fn new(tokens: ApiKeys, callers: impl IntoIterator<Item = (String, Vec<Scope>)>) -> Self {
        Self {
            tokens,
            callers: callers
                .into_iter()
                .map(|(name, scopes)| Caller { name, scopes })
                .collect(),
            open: false,
        }
    }

    /// Every call passes without a credential (an explicit opt-out).
    pub fn open() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// Whether any credential is configured (a token or an mTLS caller).
    pub fn has_credentials(&self) -> bool {
        !self.tokens.is_empty() || !self.callers.is_empty()
    }

    /// Whether bearer tokens are configured (then a TLS client may come without a certificate).
    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The caller of a call with these headers and this connection, or the refusal.
    fn authenticate(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Caller, tonic::Status> {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ErrorCode::Unauthenticated
                        .status("`authorization` metadata is not `Bearer <token>`")
                })?;
            return self
                .tokens
                .caller(token)
                .cloned()
                .ok_or_else(|| ErrorCode::Unauthenticated.status("unknown bearer token"));
        }
        if let Some(certificate) = peer_certificate(extensions) {
            return self.certificate_caller(&certificate).ok_or_else(|| {
                ErrorCode::Unauthenticated.status(
                    "the client certificate names no configured caller (grpc.callers: a DNS \
                     name of its subjectAltName)",
                )
            });
        }
        Err(ErrorCode::Unauthenticated.status(
            "this RPC needs a credential: `authorization: Bearer <token>` metadata or a client \
             certificate",
        ))
    }

    /// The first configured caller `certificate` is valid for (subjectAltName DNS names).
    fn certificate_caller(&self, certificate: &CertificateDer<'_>) -> Option<Caller> {
        let cert = webpki::EndEntityCert::try_from(certificate).ok()?;
        self.callers
            .iter()
            .find(|caller| {
                ServerName::try_from(caller.name.as_str())
                    .is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
            })
            .cloned()
    }

    /// What to do with a call to `path`: pass with its caller (if any), or refuse.
    fn check(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Option<Caller>, tonic::Status> {
        let need = need(path);
        if need == Need::Open || self.open {
            return Ok(None);
        }
        let caller = self.authenticate(headers, extensions)?;
        if !need.allows(&caller) {
            let rpc = path.trim_start_matches('/');
            tracing::info!(caller = %caller.name, rpc, "gRPC call refused: scope");
            return Err(ErrorCode::PermissionDenied.status(format!(
                "caller `{}` may not call {rpc}: it needs {}",
                caller.name,
                need.describe()
            )));
        }
        Ok(Some(caller))
    }
}

/// The verified end-entity certificate of the connection, when the client presented one.
fn peer_certificate(extensions: &http::Extensions) -> Option<CertificateDer<'static>> {
    let certs = extensions
        .get::<TlsConnectInfo<TcpConnectInfo>>()?
        .peer_certs()?;
    certs.first().cloned()
}

/// Checks every call's credential against a [`ServerAuth`] (see the module docs).
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<ServerAuth>,
}

impl AuthLayer {
    pub fn new(auth: ServerAuth) -> Self {
        Self {
            auth: Arc::new(auth),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<ServerAuth>,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let checked = self.auth.check(
            request.uri().path(),
            request.headers(),
            request.extensions(),
        );
        match checked {
            Ok(caller) => {
                if let Some(caller) = caller {
                    request.extensions_mut().insert(caller);
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::debug!(rpc = request.uri().path(), code = ?status.code(), "gRPC call refused");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> ServerAuth {
        let mut tokens = ApiKeys::default();
        tokens.insert("sf", &[Scope::Salesforce], "sf-token-0123456789abcdefgh");
        ServerAuth::new(tokens, [("erp.example".to_string(), vec![Scope::NetSuite])])
    }

    fn headers(authorization: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        }
        headers
    }

    const SYNC: &str = "/isthmus.customers.v1.CustomerSync/SyncAccount";
    const AUDIT: &str = "/isthmus.jobs.v1.JobQueue/ListAudit";

    #[test]
    fn a_known_token_with_the_scope_passes_and_names_its_caller() {
        let none = http::Extensions::new();
        let caller = auth()
            .check(
                SYNC,
                &headers(Some("Bearer sf-token-0123456789abcdefgh")),
                &none,
            )
            .unwrap()
            .unwrap();
        assert_eq!(caller.name, "sf");
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_unauthenticated_without_echo() {
        let none = http::Extensions::new();
        for presented in [
            None,
            Some("Basic abc"),
            Some("Bearer not-a-known-token-xyz"),
        ] {
            let status = auth().check(SYNC, &headers(presented), &none).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{presented:?}");
            assert!(
                !status.message().contains("not-a-known"),
                "{}",
                status.message()
            );
            assert_eq!(ErrorCode::from_status(&status), ErrorCode::Unauthenticated);
        }
    }

    #[test]
    fn a_caller_without_the_scope_is_denied_with_what_it_needs() {
        let none = http::Extensions::new();
        let status = auth()
            .check(
                AUDIT,
                &headers(Some("Bearer sf-token-0123456789abcdefgh")),
                &none,
            )
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(
            status.message().contains("viewer or admin") && status.message().contains("`sf`"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn health_is_open_and_an_open_server_asks_nothing() {
        let none = http::Extensions::new();
        assert!(auth()
            .check("/grpc.health.v1.Health/Check", &headers(None), &none)
            .unwrap()
            .is_none());
        assert!(ServerAuth::open()
            .check(SYNC, &headers(None), &none)
            .unwrap()
            .is_none());
        assert!(!ServerAuth::open().has_credentials() && auth().has_credentials());
    }

    #[test]
    fn a_certificate_names_the_configured_caller_of_its_dns_san() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["erp.example".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = CertificateDer::from(cert.der().to_vec());
        assert_eq!(auth().certificate_caller(&der).unwrap().name, "erp.example");
        let params = rcgen::CertificateParams::new(vec!["other.example".to_string()]).unwrap();
        let other = params.self_signed(&key).unwrap();
        assert!(auth()
            .certificate_caller(&CertificateDer::from(other.der().to_vec()))
            .is_none());
    }
}

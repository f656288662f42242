//! gRPC security from the configuration (`[grpc]`): how every service admits calls (bearer
//! tokens of the `grpc.tokens` secret, mTLS callers of `grpc.callers`, TLS from files) and what
//! this process presents when it calls a service (the `grpc.token` secret, a client
//! certificate, the services' CA).
//!
//! A service with no credential configured refuses to start, saying what to set, unless
//! `grpc.allow_unauthenticated` says otherwise; `isthmus dev` and the tests mint tokens, so
//! this holds for them too.

use anyhow::{bail, Context};
use isthmus_engine::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_grpc::{ClientSecurity, ServerAuth, ServerSecurity};
use secrecy::ExposeSecret;

fn read(path: &str, key: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("grpc.{key} {path:?}"))
}

/// How the services admit calls.
pub fn server_security(config: &Config, secrets: &Secrets) -> anyhow::Result<ServerSecurity> {
    let g = &config.grpc;
    let tokens = match &secrets.grpc_tokens {
        Some(spec) => ApiKeys::parse(spec.expose_secret()).context("grpc.tokens")?,
        None => ApiKeys::default(),
    };
    let mut callers = Vec::new();
    for (name, scopes) in &g.callers {
        let scopes = scopes
            .iter()
            .map(|s| {
                Scope::parse(s).with_context(|| {
                    format!(
                        "grpc.callers.{name:?}: unknown scope {s:?} (salesforce, netsuite, viewer, admin)"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        callers.push((name.clone(), scopes));
    }
    if !callers.is_empty() && g.client_ca_file.is_empty() {
        bail!("grpc.callers names mTLS callers but grpc.client_ca_file is not set");
    }
    let auth = ServerAuth::new(tokens, callers);
    let auth = if auth.has_credentials() {
        auth
    } else if g.allow_unauthenticated {
        tracing::warn!(
            "gRPC services admit every call without a credential (grpc.allow_unauthenticated)"
        );
        ServerAuth::open()
    } else {
        bail!(
            "the gRPC services have no credential to check: set ISTHMUS_GRPC__TOKENS (or \
             grpc.tokens_file) to `name:scope+scope:token,…`, or grpc.client_ca_file with \
             grpc.callers for mTLS (grpc.allow_unauthenticated = true serves without any)"
        );
    };
    let security = ServerSecurity::new(auth);
    match (g.tls_cert_file.as_str(), g.tls_key_file.as_str()) {
        ("", "") if g.client_ca_file.is_empty() => Ok(security),
        ("", _) | (_, "") => {
            bail!(
                "grpc.tls_cert_file and grpc.tls_key_file go together (client_ca_file needs them)"
            )
        }
        (cert, key) => {
            let ca = match g.client_ca_file.as_str() {
                "" => None,
                path => Some(read(path, "client_ca_file")?),
            };
            Ok(security.with_tls(
                &read(cert, "tls_cert_file")?,
                &read(key, "tls_key_file")?,
                ca.as_deref(),
            ))
        }
    }
}

/// What this process presents when it calls a service; refused when it has no credential
/// (no token, no client certificate) and `grpc.allow_unauthenticated` is off.
pub fn client_security(config: &Config, secrets: &Secrets) -> anyhow::Result<ClientSecurity> {
    let g = &config.grpc;
    let client = ClientSecurity::new(secrets.grpc_token.as_ref())?;
    if !client.has_token() && g.client_cert_file.is_empty() && !g.allow_unauthenticated {
        bail!(
            "no gRPC credential to call the services with: set ISTHMUS_GRPC__TOKEN (or \
             grpc.token_file), or grpc.client_cert_file and grpc.client_key_file for mTLS"
        );
    }
    if g.ca_file.is_empty() {
        if !g.client_cert_file.is_empty() {
            bail!("grpc.client_cert_file needs grpc.ca_file (the services' CA) for TLS");
        }
        return Ok(client);
    }
    let ca = read(&g.ca_file, "ca_file")?;
    let identity = match (g.client_cert_file.as_str(), g.client_key_file.as_str()) {
        ("", "") => None,
        ("", _) | (_, "") => bail!("grpc.client_cert_file and grpc.client_key_file go together"),
        (cert, key) => Some((
            read(cert, "client_cert_file")?,
            read(key, "client_key_file")?,
        )),
    };
    Ok(client.with_tls(
        &ca,
        identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
    ))
}

/// Refuses a plaintext URL to a service when `grpc.ca_file` is set: the CA says the services
/// serve TLS, and a `http://` URL would silently call them in the clear (each `(what, url)`
/// names its config key in the message).
pub fn require_tls_urls(config: &Config, urls: &[(&str, &str)]) -> anyhow::Result<()> {
    if config.grpc.ca_file.is_empty() {
        return Ok(());
    }
    for (what, url) in urls {
        if !url.starts_with("https://") {
            bail!(
                "grpc.ca_file is set, so the services are called over TLS: {what} {url:?} must                  be an https:// URL"
            );
        }
    }
    Ok(())
}

/// The scheme of the services' URLs in a mesh this process starts: `https` when they serve TLS.
pub fn scheme(config: &Config) -> &'static str {
    if config.grpc.tls_cert_file.is_empty() {
        "http"
    } else {
        "https"
    }
}

/// What [`mint_one_process_secrets`] minted, to show a person (`None`: the configured one is used).
#[derive(Debug, Clone, Default)]
pub struct Minted {
    pub grpc_token: Option<String>,
    pub signing_secret: Option<String>,
}

/// For a mesh in one process (`isthmus dev`, the benchmarks): the secrets a deployment would
/// configure and this run has not, minted for it: an admin gRPC token (see [`mint_token`]) and
/// a NetSuite event signing secret (the gateway does not start without one).
pub fn mint_one_process_secrets(secrets: &mut Secrets) -> Minted {
    let grpc_token = mint_token(secrets);
    let signing_secret = match &secrets.netsuite_hmac_secret {
        Some(_) => None,
        None => {
            let minted = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            secrets.netsuite_hmac_secret = Some(minted.clone().into());
            Some(minted)
        }
    };
    Minted {
        grpc_token,
        signing_secret,
    }
}

/// For a mesh in one process (`isthmus dev`, the benchmarks): when no `grpc.tokens` are
/// configured, mints one admin token that the services accept and this process presents (the
/// gateway, orders → customers); the token, to show a person, or `None` when tokens were set.
pub fn mint_token(secrets: &mut Secrets) -> Option<String> {
    if secrets.grpc_tokens.is_some() {
        return None;
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    secrets.grpc_tokens = Some(format!("mesh-grpc:admin:{token}").into());
    secrets.grpc_token = Some(token.clone().into());
    Some(token)
}

//! TLS on the gateway's listener (rustls), with the certificate reloaded when its files change.
//!
//! The certificate chain and key are PEM files. A task checks their modification times and
//! lengths every `reload_every`; when they changed and the new pair loads, it is swapped in
//! for new handshakes. Connections already open keep the session they have; a pair that fails
//! to load (half-written, mismatched) is logged and the previous one stays in use. At start a
//! pair that does not load is an error.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_rustls::rustls::crypto::ring::sign::any_supported_type;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Where the certificate and key are, and how often to look for a new pair.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub reload_every: Duration,
}

/// The acceptor of a listener, serving the latest certificate loaded.
#[derive(Clone)]
pub(crate) struct ReloadingTls {
    acceptor: TlsAcceptor,
}

impl ReloadingTls {
    /// Loads the pair (an error when it does not load) and watches the files until `stop`.
    pub(crate) fn start(files: TlsFiles, mut stop: watch::Receiver<bool>) -> std::io::Result<Self> {
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(load(&files)?))));
        let mut config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let watched = current.clone();
        tokio::spawn(async move {
            let mut seen = stamp(&files);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep(files.reload_every) => {}
                }
                let now = stamp(&files);
                if now == seen {
                    continue;
                }
                match load(&files) {
                    Ok(key) => {
                        *watched.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                        seen = now;
                        tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                    }
                    // Perhaps half-written: try again at the next look.
                    Err(err) => tracing::warn!(%err, "TLS certificate not reloaded"),
                }
            }
        });
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }
}

#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// Modification time and length of both files (a change in either is a new pair).
fn stamp(files: &TlsFiles) -> Option<[(SystemTime, u64); 2]> {
    let of = |path: &PathBuf| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    Some([of(&files.cert)?, of(&files.key)?])
}

fn load(files: &TlsFiles) -> std::io::Result<CertifiedKey> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let cert_pem = std::fs::read(&files.cert)?;
    let key_pem = std::fs::read(&files.key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{}: {e}", files.cert.display())))?;
    if chain.is_empty() {
        return Err(invalid(format!("{}: no certificate", files.cert.display())));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(format!("{}: {e}", files.key.display())))?;
    let signing = any_supported_type(&key).map_err(|e| invalid(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| invalid(format!("the certificate and key do not match: {e}")))?;
    Ok(certified)
}

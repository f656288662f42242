//! Certificates for TLS test servers, minted with `rcgen` into a directory of their own: a CA,
//! a server certificate it signs for `127.0.0.1` and `localhost`, and a client certificate it
//! signs for servers that demand one. Nothing here is fit for anything but a test.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::RedisTls;

/// PEM files written by [`TestCertificates::mint`].
#[derive(Debug, Clone)]
pub struct TestCertificates {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestCertificates {
    /// Mints a CA and the certificates it signs into `dir` (which must exist).
    ///
    /// # Panics
    /// When minting or writing fails.
    pub fn mint(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Isthmus test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        let leaf = |name: &str, usages: Vec<ExtendedKeyUsagePurpose>| {
            let mut params =
                CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                    .expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = usages;
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, &ca).expect("leaf certificate");
            (cert.pem(), key.serialize_pem())
        };
        // Redis also presents its server certificate when it dials a master as a replica.
        let (server_cert, server_key) = leaf(
            "redis",
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        );
        let (client_cert, client_key) = leaf("isthmus", vec![ExtendedKeyUsagePurpose::ClientAuth]);

        let write = |file: &str, pem: &str| {
            let path = dir.join(file);
            std::fs::write(&path, pem)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            path
        };
        Self {
            ca: write("ca.pem", &ca.pem()),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server.key", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client.key", &client_key),
        }
    }

    /// The client side's files: the CA, plus the client certificate and key when `with_client`.
    pub fn client_files(&self, with_client: bool) -> RedisTls {
        RedisTls {
            ca_file: Some(self.ca.clone()),
            cert_file: with_client.then(|| self.client_cert.clone()),
            key_file: with_client.then(|| self.client_key.clone()),
        }
    }

    /// `redis-server` arguments that serve TLS only, on `port`, with these certificates;
    /// clients must present a certificate the CA signed when `require_client`.
    pub fn server_args(&self, port: u16, require_client: bool) -> Vec<String> {
        let path = |p: &PathBuf| p.display().to_string();
        vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path(&self.server_cert),
            "--tls-key-file".into(),
            path(&self.server_key),
            "--tls-ca-cert-file".into(),
            path(&self.ca),
            "--tls-auth-clients".into(),
            (if require_client { "yes" } else { "no" }).into(),
        ]
    }
}

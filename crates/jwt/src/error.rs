use thiserror::Error;

/// Why a key could not be loaded or a token signed. No variant carries key material: at most the
/// PEM label and `ring`'s reason for refusing the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwtError {
    #[error("no PEM block (-----BEGIN …-----) in the private key")]
    NoPemBlock,
    #[error("malformed PEM header in the private key")]
    MalformedPemHeader,
    #[error("PEM block of the private key is not closed")]
    UnclosedPemBlock,
    #[error("PEM body of the private key is not base64")]
    PemNotBase64,
    /// The PEM holds something other than a private key of the algorithm's family (a public key,
    /// a certificate, an EC key for an RSA algorithm).
    #[error("a {label} PEM is not an {family} private key")]
    NotAPrivateKeyFor { label: String, family: &'static str },
    /// A SEC1 EC key, which `ring` does not read.
    #[error(
        "a SEC1 EC key: convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
    )]
    Sec1EcKey,
    /// `ring` refused the RSA key; the text is its reason.
    #[error("RSA private key rejected: {0}")]
    RsaKeyRejected(String),
    /// `ring` refused the EC key; the text is its reason.
    #[error("EC private key rejected (wrong curve?): {0}")]
    EcKeyRejected(String),
    /// The signature could not be made; the text names the family (`RSA`, `ECDSA`).
    #[error("{0} signing failed")]
    Signing(&'static str),
}

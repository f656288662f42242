use thiserror::Error;

/// What went wrong in the sandbox's direct (non-HTTP) API.
#[derive(Debug, Error)]
pub enum SandboxError {
    /// The SQLite engine failed (a bug in the sandbox, not bad input).
    #[error("sandbox database: {0}")]
    Database(#[from] rusqlite::Error),
    /// Salesforce would reject this write; `code` is the Salesforce `errorCode`.
    #[error("salesforce {code}: {message}")]
    Salesforce { code: String, message: String },
    /// Generating the TLS certificate or configuring TLS failed.
    #[error("sandbox tls: {0}")]
    Tls(String),
    /// Reading or writing a file (a certificate, the persisted account) failed.
    #[error("sandbox io: {0}")]
    Io(#[from] std::io::Error),
    /// NetSuite would reject this write; `code` is the NetSuite `o:errorCode`.
    #[error("netsuite {code}: {message}")]
    NetSuite { code: String, message: String },
}

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
    /// NetSuite would reject this write; `code` is the NetSuite `o:errorCode`.
    #[error("netsuite {code}: {message}")]
    NetSuite { code: String, message: String },
}

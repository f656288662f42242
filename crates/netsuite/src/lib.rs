//! NetSuite REST web services client for Isthmus.
//!
//! Layout:
//! - [`NetSuiteClient`] (`client`): record get/create/update/upsert (by external id)/delete, list
//!   and transform, SuiteQL with paging, RESTlets, async jobs; every request authenticated (TBA or
//!   an OAuth 2.0 M2M bearer token) and run inside a slot of the account's [`ConcurrencyGate`].
//! - `oauth2`: the M2M client assertion's claims (signed by `isthmus-jwt`, PS256/ES256 and
//!   others: [`JwtAlgorithm`]) and the token cache.
//! - [`gate`]: the concurrency gate trait, its slot guard and an in-process [`LocalGate`].
//! - [`retry`]: backoff for calls refused by the concurrency limit ([`ConcurrencyRetry`]).
//! - [`tba`]: OAuth 1.0a request signing as pure functions (base string, HMAC, header).
//! - [`NetSuiteConfig`] (`config`): account and credentials; secrets never show in `Debug`.
//! - [`NetSuiteError`] (`error`): the crate's one error type, parsed from `o:errorDetails`, with
//!   its [`ErrorClass`].
//! - [`suiteql`]: safe SuiteQL string literals.

mod client;
mod config;
mod error;
pub mod gate;
pub mod id;
mod oauth2;
mod paths;
pub mod retry;
pub mod suiteql;
pub mod tba;

pub use client::{
    FieldMetadata, GetOptions, JobId, JobResult, ListPage, ListedRecord, NetSuiteClient,
    RecordMetadata, JOB_WAIT_LIMIT,
};
pub use config::{NetSuiteAuth, NetSuiteConfig};
pub use error::{ErrorClass, NetSuiteError};
pub use gate::{ConcurrencyGate, LocalGate};
pub use id::{NetSuiteId, NetSuiteIdError};
pub use isthmus_jwt::Algorithm as JwtAlgorithm;
pub use retry::ConcurrencyRetry;

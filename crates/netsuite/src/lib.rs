//! NetSuite REST web services client for Isthmus.
//!
//! Layout:
//! - [`NetSuiteClient`] (`client`): record get/create/update/upsert (by external id)/delete and
//!   SuiteQL with paging, every request signed with token-based authentication.
//! - [`tba`]: OAuth 1.0a request signing as pure functions (base string, HMAC, header).
//! - [`NetSuiteConfig`] (`config`): account and credentials; secrets never show in `Debug`.
//! - [`NetSuiteError`] (`error`): the crate's one error type, parsed from `o:errorDetails`.
//! - [`suiteql`]: safe SuiteQL string literals.

mod client;
mod config;
mod error;
mod paths;
pub mod suiteql;
pub mod tba;

pub use client::{GetOptions, NetSuiteClient};
pub use config::NetSuiteConfig;
pub use error::NetSuiteError;

//! Salesforce REST API client for Isthmus.
//!
//! Layout:
//! - [`SalesforceClient`] (`client`): SOQL queries with paging, sObject get/create/update/upsert/delete,
//!   one automatic token refresh and retry on `INVALID_SESSION_ID`, API usage tracking.
//! - `auth`: the OAuth token grant and a single-flight token cache.
//! - [`SalesforceConfig`] (`config`): connection settings; the client secret never shows in `Debug`.
//! - [`SalesforceError`] (`error`): the crate's one error type, with the wire error body parsed.
//! - [`limits`]: the `Sforce-Limit-Info` header.
//! - [`soql`]: safe SOQL string literals; [`id`]: 15/18-character record ids.

mod auth;
mod client;
mod config;
mod error;
pub mod id;
pub mod limits;
pub mod soql;

pub use client::{SalesforceClient, UpsertOutcome};
pub use config::SalesforceConfig;
pub use error::{ApiError, SalesforceError};
pub use limits::ApiUsage;

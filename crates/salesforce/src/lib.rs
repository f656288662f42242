//! Salesforce REST API client for Isthmus.
//!
//! Layout:
//! - [`SalesforceClient`] (`client`): SOQL queries with paging, sObject get/create/update/upsert/delete,
//!   sObject Collections (`create_many`, `update_many`, `upsert_many`) and Composite, one automatic
//!   token refresh and retry on `INVALID_SESSION_ID`, API usage tracking and an optional observer;
//!   Bulk API 2.0 query and ingest jobs (`client::bulk`) for work of thousands of records.
//! - `auth`: the OAuth token grants (client credentials, JWT bearer) and a single-flight token cache;
//!   `jwt`: the RS256 assertion's claims, signed by `isthmus-jwt`.
//! - [`SalesforceConfig`] (`config`): connection settings and [`SalesforceAuth`]; secrets never show
//!   in `Debug`.
//! - [`SalesforceError`] (`error`): the crate's one error type, with the wire error body parsed.
//! - [`limits`]: the `Sforce-Limit-Info` header.
//! - [`soql`]: safe SOQL literals and the [`soql::Soql`] builder; [`id`]: 15/18-character record ids.

mod auth;
mod client;
mod config;
mod error;
pub mod id;
mod jwt;
pub mod limits;
pub mod soql;

pub use client::{
    composite_batches, BulkField, BulkJob, BulkJobState, BulkOperation, BulkPolling, BulkQuery,
    CompositeSubrequest, CompositeSubresponse, DeletedRecord, DeletedRecords, FailedRow,
    FieldDescribe, IngestOutcome, KeysetQuery, OrgLimit, PicklistValue, RecordResult,
    SObjectDescribe, SalesforceClient, SavedRow, UpsertOutcome, UsageObserver,
    BULK_INGEST_MAX_BYTES, COLLECTION_LIMIT, COMPOSITE_LIMIT, COMPOSITE_QUERY_LIMIT,
};
pub use config::{SalesforceAuth, SalesforceConfig};
pub use error::{ApiError, ErrorClass, SalesforceError};
pub use limits::ApiUsage;

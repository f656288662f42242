//! `isthmus-engine`: the flows and the mechanisms they share.
//!
//! - [`config`]: compiled-in defaults → file → `ISTHMUS_` env; secrets only from env or files.
//! - [`customers`]: Account (+Contacts) ⇄ customer (+contacts): mapping, matching, the two flows.
//! - [`catalog`]: NetSuite items → Product2 and price book entries (runs and single items).
//! - [`finance`]: invoices, credit memos and payments → Salesforce, and the billing state.
//! - [`orders`]: won Opportunity → sales order; order status, fulfilments and renewals back.
//! - [`result`]: what a sync did (`SyncResult`, a typed `Outcome`, field changes as JSON).
//! - [`work`]: the job queue's dispatcher and worker, shared by every service.
//! - [`lock`]: runs a record's sync under its fenced lock, renewing the lease while it runs.
//! - [`governance`]: NetSuite's account-wide concurrency semaphore and the Salesforce daily
//!   allocation policy (batch work pauses, interactive work keeps a reserve).
//! - [`schedule`]: cron schedules run once per firing across replicas, and delta cursors.
//! - [`doctor`]: the configured mappings checked against both systems' metadata (schema drift).
//! - [`reconcile`]: both sides compared across the ID map per flow, drifts reported and
//!   repaired one by one.
//! - [`error`]: the engine's error type and its stable [`isthmus_proto::ErrorCode`].

pub mod alerts;
pub mod audit;
pub mod catalog;
pub mod config;
pub mod customers;
pub mod doctor;
pub mod error;
pub mod finance;
pub mod governance;
pub mod lock;
pub(crate) mod mirror;
pub mod observe;
pub mod orders;
pub mod reconcile;
pub mod result;
pub mod schedule;
pub mod work;

pub use config::{Config, Secrets};
pub use error::{EngineError, Result};
pub use result::{FieldChange, Outcome, SyncResult};

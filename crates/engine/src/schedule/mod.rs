//! Scheduled delta sync: cron schedules run once per firing across the mesh, and the per-flow
//! cursors that let each run read only what changed since the last one.
//!
//! - [`Schedule`] ([`cron`]): a cron expression (5 fields, or 6 with seconds first) and the next
//!   firing after an instant, in UTC.
//! - [`Scheduler`] ([`scheduler`]): runs named jobs on their schedules until shut down. Each
//!   firing runs in at most one replica (the one that takes the lock `schedule:<name>`), never
//!   twice at once, and its last start, end and outcome are kept as the status value
//!   `schedule:<name>` ([`ScheduleStatus`]).
//! - [`Cursor`] ([`cursor`]): a flow's delta position `(modified_at, id)` kept as the status
//!   value `cursor:<flow>`; it never moves backwards. [`ReadFrom`] is the window of the next
//!   read; [`continue_from`] the position after a page.
//! - [`query`]: the window as a SOQL or SuiteQL condition with escaped literals.
//!
//! The guarantee the cursor gives, when records are read in the unique order `(modified, id)`
//! and the cursor is saved after each page: no record is skipped, however many records share a
//! timestamp and wherever the page boundaries fall; a record is read twice only when it lies in
//! the overlap window (re-reading is harmless: flows are idempotent).
//!
//! Not here yet: the wiring of schedules from config into the services, and deletes.

pub mod cron;
pub mod cursor;
pub mod query;
pub mod scheduler;

pub use cron::Schedule;
pub use cursor::{continue_from, window, Cursor, CursorPos, ReadFrom};
pub use query::{
    order_by, parse_suiteql_datetime, soql_condition, suiteql_condition, suiteql_timestamp,
};
pub use scheduler::{schedule_status, Firing, RunOutcome, ScheduleStatus, Scheduler};

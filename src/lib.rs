//! The `isthmus` binary's library half: how the parts are wired into processes.
//!
//! - [`wiring`]: from [`Config`] and [`Secrets`] to running parts: the store, the connector
//!   clients, and each service's `ServiceParts` (gRPC routes, worker, schedules).
//! - [`mesh`]: starts the four services and the gateway on given listeners (one process or
//!   several), and the sandbox for `isthmus dev` and the tests.
//!
//! The command line lives in `main.rs`; the whole-mesh tests (`tests/`) use this library to
//! start exactly what `isthmus dev` starts.

pub mod mesh;
pub mod wiring;

pub use isthmus_engine::{Config, Secrets};

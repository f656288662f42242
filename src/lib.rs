//! The `isthmus` binary's library half: how the parts are wired into processes.
//!
//! - [`wiring`]: from [`Config`] and [`Secrets`] to running parts: the store, the connector
//!   clients, and each service's `ServiceParts` (gRPC routes, worker, schedules).
//! - [`dev`]: `isthmus dev` (the sandbox and the whole mesh in one process, on a key namespace
//!   of its own when on Redis).
//! - [`mesh`]: starts the four services and the gateway on given listeners (one process or
//!   several), and the sandbox for `isthmus dev` and the tests.
//!
//! The command line lives in `main.rs`; the whole-mesh tests (`tests/`) use this library to
//! start exactly what `isthmus dev` starts.

pub mod dev;
pub mod mesh;
pub mod wiring;

pub use isthmus_engine::{Config, Secrets};

//! The `isthmus` binary's library half: how the parts are wired into processes.
//!
//! - [`wiring`]: store and connector clients built from [`Config`] and [`Secrets`].
//! - [`mesh`]: starts the customers service and the gateway on given listeners (one process or
//!   several), and the sandbox for `isthmus dev` and the tests.
//!
//! The command line lives in `main.rs`; the whole-mesh tests (`tests/`) use this library to
//! start exactly what `isthmus dev` starts.

pub mod mesh;
pub mod wiring;

pub use isthmus_engine::{Config, Secrets};

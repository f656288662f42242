//! Integration tests over real HTTP: each test starts the sandbox on 127.0.0.1:0 and talks to it
//! with reqwest, as a vendor client would.

mod calls;
mod harness;
mod netsuite;
mod salesforce;
mod seed;
mod signer;
mod suiteql;

//! Integration tests over real HTTP: each test starts the sandbox on 127.0.0.1:0 and talks to it
//! with reqwest, as a vendor client would.

mod bulk2;
mod calls;
mod client_compat;
mod control_records;
mod faults;
mod harness;
mod https;
mod netsuite;
mod netsuite_async;
mod netsuite_auth;
mod netsuite_books;
mod netsuite_governance;
mod netsuite_metadata;
mod netsuite_orders;
mod netsuite_persistence;
mod netsuite_property_names;
mod netsuite_restlets;
mod netsuite_support;
mod netsuite_transactions;
mod salesforce;
mod salesforce_allocation;
mod salesforce_collections;
mod salesforce_composite;
mod salesforce_jwt;
mod salesforce_limits;
mod salesforce_objects;
mod salesforce_orders;
mod salesforce_persistence;
mod salesforce_replication;
mod salesforce_seed;
mod salesforce_soql;
mod seed;
mod signer;
mod suiteql;
mod suiteql_row_cap;

//! The whole-mesh tests, one binary (it links once): each module is one area, its tests name
//! the behaviour they check. `telemetry.rs` stays a binary of its own: it installs the
//! process's global tracing subscriber.

mod account_to_customer;
mod audit_and_alerts;
mod backfill;
mod bad_input;
mod browser_harness;
mod catalog;
mod conflicts;
mod console_access;
mod console_browser;
mod customer_to_account;
mod delta;
mod dev_command;
mod faults_concurrent_clicks;
mod faults_matrix_accounts;
mod faults_matrix_batches;
mod faults_matrix_catalog;
mod faults_matrix_clicks;
mod faults_matrix_customers;
mod faults_matrix_finance;
mod faults_matrix_orders;
mod faults_matrix_renewals;
mod faults_matrix_repair;
mod faults_redis_restart;
mod faults_upstream;
mod faults_worker_killed;
mod finance;
mod gateway_and_grpc;
mod gateway_tls;
mod grpc_auth;
mod grpc_clients;
mod grpc_mtls;
mod integer_ranges;
mod limits;
mod netsuite_limits;
mod netsuite_signature;
mod orders;
mod queue;
mod readiness;
mod reconcile;
mod record_status;
mod redis_tls;
mod salesforce_limits;
mod schemathesis;
mod thirdparty;

//! The `/__sandbox/` control endpoints, served unauthenticated on both routers. A body or query
//! may name the system (`"system": "salesforce" | "netsuite"`); without it, the router's own.
//!
//! | endpoint | does |
//! | --- | --- |
//! | `GET /__sandbox/calls`, `POST /__sandbox/calls/reset` | call counts by route |
//! | `GET /__sandbox/counters` | calls, in-flight, peak, over-limit rejections, injected faults |
//! | `GET`/`PUT /__sandbox/latency` | `{"ms": 250}`: latency added to every call |
//! | `GET`/`POST`/`DELETE /__sandbox/faults` | fault rules ([`crate::Fault`] as JSON) |
//! | `POST /__sandbox/reset` | counters to zero, faults cleared, latency as configured |
//! | `GET`/`PUT /__sandbox/netsuite/other-tenant` | the NetSuite account's other tenant: `{"slots": 3}` held from now, or `{"steps": [{"after_ms": 0, "slots": 0}, {"after_ms": 5000, "slots": 4}]}`; `GET` adds `slots` now and `elapsed_ms` |
//! | `POST /__sandbox/salesforce/records/{sobject}` | create as the org's admin user: 201 `{"id"}` |
//! | `GET`/`PATCH /__sandbox/salesforce/records/{sobject}/{id}` | read (200, 404) / change as the admin (204) |
//! | `POST /__sandbox/netsuite/records/{type}` | create as an account user: 201 `{"id"}` |
//! | `GET`/`PATCH /__sandbox/netsuite/records/{type}/{id}` | read (200, 404) / change as an account user (204) |
//! | `GET`/`PUT /__sandbox/salesforce/api-allocation` | `{"max","used"}`: the org's daily API allocation (Salesforce router only) |
//!
//! The record endpoints, served on both routers, are in [`super::records`] with their error shape;
//! the API allocation is in the Salesforce module.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::calls::System;
use crate::faults::Fault;
use crate::{Sandbox, TenantStep};

type Ctx = State<(Sandbox, System)>;

pub fn router(sandbox: &Sandbox, system: System) -> Router {
    Router::new()
        .route("/__sandbox/calls", get(calls))
        .route("/__sandbox/calls/reset", post(reset_calls))
        .route("/__sandbox/counters", get(counters))
        .route("/__sandbox/latency", get(latency).put(set_latency))
        .route(
            "/__sandbox/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sandbox/reset", post(reset))
        .route(
            "/__sandbox/netsuite/other-tenant",
            get(other_tenant).put(set_other_tenant),
        )
        .with_state((sandbox.clone(), system))
}

#[derive(Deserialize, Default)]
struct Target {
    system: Option<System>,
}

async fn calls(State((sandbox, _)): Ctx) -> impl IntoResponse {
    Json(sandbox.calls())
}

async fn reset_calls(State((sandbox, _)): Ctx) -> StatusCode {
    sandbox.reset_calls();
    StatusCode::NO_CONTENT
}

async fn counters(State((sandbox, _)): Ctx) -> Json<Value> {
    let counters = sandbox.counters();
    Json(json!({
        "calls": sandbox.calls(),
        "salesforce": counters.salesforce,
        "netsuite": counters.netsuite,
    }))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn latency(State((sandbox, _)): Ctx) -> Json<Value> {
    Json(json!({
        "salesforce": { "ms": millis(sandbox.latency(System::Salesforce)) },
        "netsuite": { "ms": millis(sandbox.latency(System::NetSuite)) },
    }))
}

#[derive(Deserialize)]
struct SetLatency {
    ms: u64,
    system: Option<System>,
}

async fn set_latency(State((sandbox, own)): Ctx, Json(body): Json<SetLatency>) -> StatusCode {
    sandbox.set_latency(body.system.unwrap_or(own), Duration::from_millis(body.ms));
    StatusCode::NO_CONTENT
}

async fn faults(State((sandbox, own)): Ctx, Query(target): Query<Target>) -> Json<Vec<Fault>> {
    Json(sandbox.faults(target.system.unwrap_or(own)))
}

#[derive(Deserialize)]
struct AddFault {
    system: Option<System>,
    #[serde(flatten)]
    fault: Fault,
}

async fn add_fault(State((sandbox, own)): Ctx, Json(body): Json<AddFault>) -> StatusCode {
    sandbox.inject_fault(body.system.unwrap_or(own), body.fault);
    StatusCode::CREATED
}

async fn clear_faults(State((sandbox, own)): Ctx, Query(target): Query<Target>) -> StatusCode {
    sandbox.clear_faults(target.system.unwrap_or(own));
    StatusCode::NO_CONTENT
}

async fn reset(State((sandbox, _)): Ctx) -> StatusCode {
    sandbox.reset_control();
    StatusCode::NO_CONTENT
}

async fn other_tenant(State((sandbox, _)): Ctx) -> Json<Value> {
    let (steps, elapsed_ms) = sandbox.netsuite_other_tenant();
    Json(json!({
        "slots": sandbox.counters().netsuite.other_tenant_in_flight,
        "steps": steps,
        "elapsed_ms": elapsed_ms,
    }))
}

/// The other tenant's load: a constant `slots`, or `steps`; exactly one of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetOtherTenant {
    slots: Option<usize>,
    steps: Option<Vec<TenantStep>>,
}

async fn set_other_tenant(
    State((sandbox, _)): Ctx,
    body: Result<Json<SetOtherTenant>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    let steps = match body {
        Ok(Json(SetOtherTenant {
            slots: Some(slots),
            steps: None,
        })) => vec![TenantStep { after_ms: 0, slots }],
        Ok(Json(SetOtherTenant {
            slots: None,
            steps: Some(steps),
        })) => steps,
        Ok(_) => return invalid_load("give either `slots` or `steps`"),
        Err(rejection) => return invalid_load(&rejection.body_text()),
    };
    sandbox.set_netsuite_other_tenant(steps);
    StatusCode::NO_CONTENT.into_response()
}

/// A refused other-tenant load: 400 with a stable code; the load in force is unchanged.
fn invalid_load(message: &str) -> axum::response::Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message, "code": "INVALID_TENANT_LOAD" })),
    )
        .into_response()
}

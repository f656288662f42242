//! The OpenAPI document, generated from the route handlers and types (utoipa), then completed
//! by one rule ([`ErrorAnswers`]) so it names every status the gateway can answer: each
//! operation lists the JSON error answers any route may give (400, 401, 403, 404, 408, 409,
//! 413, 414, 415, 422, 429, 431, 503 with [`crate::ErrorBody`]) and, where it answers a sync result, `202` for a
//! sync still queued. Checked against the running API by schemathesis
//! (`tests/tests/it/schemathesis.rs`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Isthmus gateway", description = "Salesforce ⇄ NetSuite sync: the REST entry points for Apex callouts and NetSuite scripts."),
    paths(crate::routes::sync::sync_account, crate::routes::events::netsuite_event, crate::routes::links::get_link,
        crate::routes::finance::account_summary, crate::routes::finance::sync_subsidiaries, crate::routes::orders::sync_opportunity, crate::routes::orders::sync_quote, crate::routes::orders::scan_renewals, crate::routes::orders::get_order_link,
        crate::routes::catalog::start_catalog_run, crate::routes::catalog::get_catalog_run, crate::routes::catalog::get_product_link,
        crate::routes::ops::start_account_backfill, crate::routes::ops::get_backfill, crate::routes::ops::governance, crate::routes::doctor::last_doctor_report,
        crate::routes::jobs::get_job, crate::routes::jobs::list_dead_letters, crate::routes::jobs::get_dead_letter,
        crate::routes::jobs::replay_dead_letter, crate::routes::jobs::discard_dead_letter, crate::routes::jobs::queue_depth,
        crate::routes::conflicts::list_conflicts, crate::routes::conflicts::get_conflict, crate::routes::conflicts::resolve_conflict, crate::routes::audit::audit,
        crate::routes::reconcile::reconcile_flow, crate::routes::reconcile::repair_drift, crate::routes::reconcile::last_runs, crate::routes::observe::schedules,
        crate::routes::observe::healthz, crate::routes::observe::readyz, crate::routes::stats::stats, crate::routes::records::record_status,
        crate::routes::reconcile::progress, crate::routes::reconcile::last_report, crate::routes::reconcile::history,
        crate::routes::ops::latest_backfill, crate::routes::catalog::latest_catalog_run, crate::routes::observe::run_schedule,
        crate::routes::erasures::erase_person),
    components(schemas(crate::routes::SyncResultJson, crate::routes::sync::SyncMode, crate::routes::conflicts::StateFilter, crate::routes::FieldChangeJson, crate::routes::NetSuiteEvent, crate::routes::LinkJson,
        crate::routes::ScanRenewals, crate::routes::SyncResultsJson, crate::routes::OrderLinkJson,
        crate::routes::StartCatalogRun, crate::routes::CatalogRunMode, crate::routes::CatalogRunJson, crate::routes::ProductLinkJson,
        crate::routes::StartBackfill, crate::routes::BackfillJson, crate::routes::GovernanceJson, crate::routes::JobJson, crate::routes::DeadLetterJson, crate::routes::QueueDepthJson, crate::Service, crate::routes::AuditEntryJson,
        crate::routes::reconcile::StartReconcile, crate::routes::reconcile::DriftJson, crate::routes::reconcile::ReconcileReportJson, crate::routes::reconcile::LastRunsJson, crate::routes::reconcile::LastRunJson, crate::routes::observe::SchedulesJson, crate::routes::observe::ScheduleJson, crate::ErrorBody,
        crate::routes::stats::StatsJson, crate::routes::stats::FlowStatsJson, crate::routes::stats::WindowJson, crate::routes::stats::LastErrorJson, crate::routes::stats::TimelineJson, crate::routes::stats::AllocationPointJson,
        crate::routes::records::RecordStatusJson, crate::routes::records::LastSyncJson, crate::routes::records::OpenConflictJson, crate::routes::jobs::AttemptErrorJson, crate::routes::reconcile::ProgressJson, crate::routes::observe::RunRequestedJson, crate::routes::doctor::DoctorJson,
        crate::routes::erasures::ErasePerson, crate::routes::erasures::ErasureJson)),
    modifiers(&BearerAuth, &ErrorAnswers)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error answers every operation may give, and `202` beside every `200` sync result.
struct ErrorAnswers;

/// Statuses any route may answer with an [`crate::ErrorBody`], and what they mean.
const ERROR_ANSWERS: [(&str, &str); 13] = [
    (
        "400",
        "INVALID_ARGUMENT: a malformed id, query, body or header",
    ),
    (
        "401",
        "UNAUTHENTICATED: no or an unknown API key, or a NetSuite event not signed",
    ),
    ("403", "PERMISSION_DENIED: the key lacks the route's scope"),
    ("404", "NOT_FOUND: no such record, job or link"),
    (
        "409",
        "LOCKED: another sync or run of the same record holds it",
    ),
    (
        "408",
        "REQUEST_TIMEOUT: the body or the request took longer than the gateway's timeout",
    ),
    (
        "413",
        "PAYLOAD_TOO_LARGE: the body is over gateway.max_body_bytes",
    ),
    (
        "414",
        "URI_TOO_LONG: the path and query are over gateway.max_uri_bytes",
    ),
    (
        "415",
        "UNSUPPORTED_MEDIA_TYPE: a body that is not exactly application/json",
    ),
    (
        "422",
        "UNPROCESSABLE: the record cannot be synced as it stands",
    ),
    (
        "429",
        "RATE_LIMITED: the key is over its rate or its daily Salesforce budget, or an upstream \
         limit was reached (see Retry-After)",
    ),
    (
        "431",
        "HEADERS_TOO_LARGE: the request's headers are over the gateway's limit",
    ),
    (
        "503",
        "UNAVAILABLE: the gateway is at its limit of requests in flight, or the store or a \
         service is unavailable (see Retry-After); SALESFORCE_ALLOCATION_EXHAUSTED: Salesforce's \
         daily API allocation is spent, nothing was written, try again after Retry-After",
    ),
];

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Health, readiness, metrics and this document take no key and no input.
            if !path.starts_with("/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.parameter_in == utoipa::openapi::path::ParameterIn::Path {
                        if let Some(pattern) = path_pattern(path, &parameter.name) {
                            parameter.schema = Some(
                                ObjectBuilder::new()
                                    .schema_type(SchemaType::Type(Type::String))
                                    .pattern(Some(pattern))
                                    .into(),
                            );
                        }
                    }
                }
                let responses = &mut operation.responses.responses;
                for (status, description) in ERROR_ANSWERS {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description));
                }
                let sync_result = responses.get("200").is_some_and(|ok| {
                    serde_json::to_string(ok).is_ok_and(|text| text.contains("SyncResultJson"))
                });
                if sync_result && !responses.contains_key("202") {
                    let ok = responses["200"].clone();
                    responses.insert("202".to_string(), ok);
                }
            }
        }
    }
}

/// A Salesforce id: 15 or 18 letters and digits (the checksum is checked by the route).
const SALESFORCE_ID: &str = "^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$";
/// A NetSuite internal id or a Salesforce id.
const LINK_ID: &str = "^([1-9][0-9]{0,19}|[A-Za-z0-9]{15}|[A-Za-z0-9]{18})$";
/// A job, run or conflict id Isthmus made.
const RECORD_ID: &str = "^[0-9a-f]{32}$";

/// The pattern of a path parameter as the route parses it.
fn path_pattern(path: &str, name: &str) -> Option<&'static str> {
    match name {
        "flow" => Some("^(customers|products|orders|invoices)$"),
        "id" if path.starts_with("/v1/links/") => Some(LINK_ID),
        "id" if path.starts_with("/v1/salesforce/conflicts/") => Some(RECORD_ID),
        "id" if path.starts_with("/v1/salesforce/") => Some(SALESFORCE_ID),
        "id" => Some(RECORD_ID),
        _ => None,
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty JSON.
pub fn openapi_json() -> String {
    document().to_pretty_json().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_routes_document_the_limit_answers_and_health_does_not() {
        let doc = super::document();
        let sync = &doc.paths.paths["/v1/salesforce/accounts/{id}/sync"];
        let responses = &sync.post.as_ref().unwrap().responses.responses;
        for status in ["408", "429", "503"] {
            assert!(responses.contains_key(status), "{status}");
        }
        let health = &doc.paths.paths["/healthz"];
        assert!(!health
            .get
            .as_ref()
            .unwrap()
            .responses
            .responses
            .contains_key("429"));
    }
}

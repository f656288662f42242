//! The OpenAPI document, generated from the route handlers and types (utoipa).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Isthmus gateway", description = "Salesforce ⇄ NetSuite sync: the REST entry points for Apex callouts and NetSuite scripts."),
    paths(crate::routes::sync::sync_account, crate::routes::events::netsuite_event, crate::routes::links::get_link,
        crate::routes::finance::account_summary, crate::routes::finance::sync_subsidiaries, crate::routes::orders::sync_opportunity, crate::routes::orders::scan_renewals, crate::routes::orders::get_order_link,
        crate::routes::catalog::start_catalog_run, crate::routes::catalog::get_catalog_run, crate::routes::catalog::get_product_link,
        crate::routes::ops::start_account_backfill, crate::routes::ops::get_backfill, crate::routes::ops::governance,
        crate::routes::jobs::get_job, crate::routes::jobs::list_dead_letters, crate::routes::jobs::get_dead_letter,
        crate::routes::jobs::replay_dead_letter, crate::routes::jobs::discard_dead_letter, crate::routes::jobs::queue_depth,
        crate::routes::conflicts::list_conflicts, crate::routes::conflicts::get_conflict, crate::routes::conflicts::resolve_conflict, crate::routes::audit::audit,
        crate::routes::reconcile::reconcile_flow, crate::routes::reconcile::repair_drift, crate::routes::reconcile::last_runs, crate::routes::observe::schedules,
        crate::routes::observe::healthz, crate::routes::observe::readyz, crate::routes::stats::stats, crate::routes::records::record_status,
        crate::routes::reconcile::progress, crate::routes::reconcile::last_report, crate::routes::reconcile::history,
        crate::routes::ops::latest_backfill, crate::routes::catalog::latest_catalog_run, crate::routes::observe::run_schedule),
    components(schemas(crate::routes::SyncResultJson, crate::routes::FieldChangeJson, crate::routes::NetSuiteEvent, crate::routes::LinkJson,
        crate::routes::ScanRenewals, crate::routes::SyncResultsJson, crate::routes::OrderLinkJson,
        crate::routes::StartCatalogRun, crate::routes::CatalogRunMode, crate::routes::CatalogRunJson, crate::routes::ProductLinkJson,
        crate::routes::StartBackfill, crate::routes::BackfillJson, crate::routes::GovernanceJson, crate::routes::JobJson, crate::routes::DeadLetterJson, crate::routes::QueueDepthJson, crate::Service, crate::routes::AuditEntryJson,
        crate::routes::reconcile::StartReconcile, crate::routes::reconcile::DriftJson, crate::routes::reconcile::ReconcileReportJson, crate::routes::reconcile::LastRunsJson, crate::routes::reconcile::LastRunJson, crate::routes::observe::SchedulesJson, crate::routes::observe::ScheduleJson, crate::ErrorBody,
        crate::routes::stats::StatsJson, crate::routes::stats::FlowStatsJson, crate::routes::stats::WindowJson, crate::routes::stats::LastErrorJson, crate::routes::stats::TimelineJson, crate::routes::stats::AllocationPointJson,
        crate::routes::records::RecordStatusJson, crate::routes::records::LastSyncJson, crate::routes::records::OpenConflictJson, crate::routes::jobs::AttemptErrorJson, crate::routes::reconcile::ProgressJson, crate::routes::observe::RunRequestedJson)),
    modifiers(&BearerAuth, &LimitAnswers)
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

/// The answers the gateway's limits give on every API route (see `limits`): `429` (the key's
/// rate, or a Salesforce key's daily budget, with `Retry-After`), `503` (in-flight cap, shed at
/// once) and `408` (body or request timeout), each an `ErrorBody`.
struct LimitAnswers;

impl Modify for LimitAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let answers = [
            ("408", answer("REQUEST_TIMEOUT: the body or the request took longer than the gateway's timeout")),
            ("429", answer("RATE_LIMITED: the key is over its rate or its daily Salesforce budget (see Retry-After)")),
            ("503", answer("UNAVAILABLE: the gateway is at its limit of requests in flight, or a dependency is down (see Retry-After)")),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, response) in &answers {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_string())
                        .or_insert_with(|| response.clone().into());
                }
            }
        }
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

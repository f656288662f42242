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
    components(schemas(crate::routes::SyncResultJson, crate::routes::sync::SyncMode, crate::routes::conflicts::StateFilter, crate::routes::FieldChangeJson, crate::routes::NetSuiteEvent, crate::routes::LinkJson,
        crate::routes::ScanRenewals, crate::routes::SyncResultsJson, crate::routes::OrderLinkJson,
        crate::routes::StartCatalogRun, crate::routes::CatalogRunMode, crate::routes::CatalogRunJson, crate::routes::ProductLinkJson,
        crate::routes::StartBackfill, crate::routes::BackfillJson, crate::routes::GovernanceJson, crate::routes::JobJson, crate::routes::DeadLetterJson, crate::routes::QueueDepthJson, crate::Service, crate::routes::AuditEntryJson,
        crate::routes::reconcile::StartReconcile, crate::routes::reconcile::DriftJson, crate::routes::reconcile::ReconcileReportJson, crate::routes::reconcile::LastRunsJson, crate::routes::reconcile::LastRunJson, crate::routes::observe::SchedulesJson, crate::routes::observe::ScheduleJson, crate::ErrorBody,
        crate::routes::stats::StatsJson, crate::routes::stats::FlowStatsJson, crate::routes::stats::WindowJson, crate::routes::stats::LastErrorJson, crate::routes::stats::TimelineJson, crate::routes::stats::AllocationPointJson,
        crate::routes::records::RecordStatusJson, crate::routes::records::LastSyncJson, crate::routes::records::OpenConflictJson, crate::routes::jobs::AttemptErrorJson, crate::routes::reconcile::ProgressJson, crate::routes::observe::RunRequestedJson)),
    modifiers(&BearerAuth)
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty JSON.
pub fn openapi_json() -> String {
    document().to_pretty_json().unwrap_or_default()
}

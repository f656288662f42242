//! `GET /v1/doctor`: the schema doctor's last report, as the customers service's scheduled run
//! (`schedules.doctor`, or `POST /v1/schedules/customers.doctor/run` now) kept it in the store.
//! The gateway reaches neither vendor: it shows the report, it does not run the checks (that is
//! the service's, or `isthmus doctor`'s, with the vendors' credentials).

use axum::extract::State;
use axum::Json;
use isthmus_engine::doctor::LAST_REPORT;
use isthmus_proto::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::store_unavailable;
use crate::{ApiError, Gateway};

/// The doctor's report: `ok`, `checked_at_ms`, `checked` (fields checked) and `problems`, each
/// with `severity`, `kind`, `side`, `object`, `field`, `value` (a missing picklist or select
/// value), `config_key`, `detail` and `fix`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorJson {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub report: Value,
}

#[utoipa::path(get, path = "/v1/doctor",
    responses((status = 200, body = DoctorJson), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn last_doctor_report(
    State(gateway): State<Gateway>,
) -> Result<Json<DoctorJson>, ApiError> {
    let Some(report) = last_report::<Value>(&gateway).await? else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "the schema doctor has not run yet (or not this week): POST /v1/schedules/customers.doctor/run runs it now",
        ));
    };
    Ok(Json(DoctorJson { report }))
}

/// The report the last run kept, read as `T` (`None`: no run kept one).
pub(crate) async fn last_report<T: serde::de::DeserializeOwned>(
    gateway: &Gateway,
) -> Result<Option<T>, ApiError> {
    let kept = gateway
        .store
        .status(LAST_REPORT)
        .await
        .map_err(store_unavailable)?;
    kept.map(|bytes| serde_json::from_slice(&bytes).map_err(store_unavailable))
        .transpose()
}

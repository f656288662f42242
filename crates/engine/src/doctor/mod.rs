//! The schema doctor: checks, before a sync fails, that both systems still have what the
//! configured flows need. Every mapped field, value map and external-id field
//! ([`needs::needs`], from the loaded configuration) is checked against Salesforce `describe`
//! (one call per object) and NetSuite's record metadata catalog (one call per record type):
//! exists, writable in the direction the flow writes, type compatible with the field it maps to,
//! picklist or select values present, upsert keys marked external id.
//!
//! Guarantees: the doctor only reads metadata (no record read, no write on either side; [`run`]
//! writes nothing in the store, the scheduled [`run_and_keep`] only its report under
//! [`LAST_REPORT`]); each [`Problem`] names the configuration key that needs the field and a
//! suggested fix. Not done: fields the flows use without configuration (addresses, contacts'
//! names, finance objects) are not enumerated beyond their external-id keys; Salesforce field-level
//! security of the integration user shows only as far as `describe` reports it.

mod check;
mod needs;

use std::collections::BTreeMap;

use isthmus_netsuite::{NetSuiteClient, NetSuiteError, RecordMetadata};
use isthmus_salesforce::{SObjectDescribe, SalesforceClient, SalesforceError};
use isthmus_store::StatusValues;
use serde::{Deserialize, Serialize};

use crate::alerts::Alert;
use crate::config::Config;
use crate::error::Result;
pub use needs::{needs, Need};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Salesforce,
    #[serde(rename = "netsuite")]
    NetSuite,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Salesforce => "salesforce",
            Self::NetSuite => "netsuite",
        }
    }
}

/// What a flow does with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    fn writes(self) -> bool {
        matches!(self, Self::Write | Self::ReadWrite)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A sync that needs it fails.
    Error,
    /// Syncs may still run, but not as configured.
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    ObjectMissing,
    FieldMissing,
    NotWritable,
    IncompatibleType,
    ValueMissing,
    NotExternalId,
}

/// One thing a flow needs that a system does not offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub severity: Severity,
    pub kind: ProblemKind,
    pub side: Side,
    pub object: String,
    pub field: String,
    /// The missing picklist or select value, for [`ProblemKind::ValueMissing`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The configuration key (or built-in flow) that needs it.
    pub config_key: String,
    pub detail: String,
    pub fix: String,
}

/// The outcome of one run: what was checked, and every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorReport {
    pub ok: bool,
    /// When the run finished (milliseconds since the epoch).
    pub checked_at_ms: i64,
    /// Fields checked.
    pub checked: usize,
    pub problems: Vec<Problem>,
}

impl DoctorReport {
    fn new(checked: usize, mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| {
            (a.severity, a.side, &a.object, &a.field)
                .cmp(&(b.severity, b.side, &b.object, &b.field))
        });
        Self {
            ok: problems.is_empty(),
            checked_at_ms: chrono::Utc::now().timestamp_millis(),
            checked,
            problems,
        }
    }

    /// The report for a person: one line per problem with its fix, or that all is well.
    pub fn text(&self) -> String {
        if self.ok {
            return format!("ok: {} fields checked, no problems", self.checked);
        }
        let mut out = format!(
            "{} problem(s) in {} fields checked\n",
            self.problems.len(),
            self.checked
        );
        for p in &self.problems {
            let severity = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!(
                "{severity:7} {} {}.{} ({}): {}\n        fix: {}\n",
                p.side.as_str(),
                p.object,
                p.field,
                p.config_key,
                p.detail,
                p.fix
            ));
        }
        out
    }

    /// The alert to raise when problems were found.
    pub fn alert(&self) -> Option<Alert> {
        (!self.ok).then(|| Alert::SchemaDrift {
            problems: self.problems.len(),
            detail: self
                .problems
                .iter()
                .map(|p| format!("{}.{} ({}): {}", p.object, p.field, p.config_key, p.detail))
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// The status value holding the last scheduled run's report (JSON).
pub const LAST_REPORT: &str = "doctor:last";
/// How long the last report is kept: past a week without a run, no report is better than an old one.
const LAST_REPORT_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// [`run`], keeping the report as the last one ([`last_report`]): the scheduled run.
pub async fn run_and_keep<S: StatusValues + ?Sized>(
    config: &Config,
    salesforce: &SalesforceClient,
    netsuite: &NetSuiteClient,
    statuses: &S,
) -> Result<DoctorReport> {
    let report = run(config, salesforce, netsuite).await?;
    let json = serde_json::to_vec(&report)
        .map_err(|e| crate::EngineError::Unprocessable(format!("doctor report: {e}")))?;
    statuses
        .put_status(LAST_REPORT, &json, LAST_REPORT_TTL)
        .await?;
    Ok(report)
}

/// The last kept report, `None` before the first scheduled run (or a week after the last).
pub async fn last_report<S: StatusValues + ?Sized>(statuses: &S) -> Result<Option<DoctorReport>> {
    let Some(bytes) = statuses.status(LAST_REPORT).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| crate::EngineError::Unprocessable(format!("doctor report: {e}")))
}

/// What a system said about one object: its metadata, or that it has no such object.
pub(crate) enum Metadata<T> {
    Found(T),
    Missing,
}

/// Runs every check: one `describe` per Salesforce object and one metadata call per NetSuite
/// record type the needs name. A vendor that cannot be reached is an error, not a report.
pub async fn run(
    config: &Config,
    salesforce: &SalesforceClient,
    netsuite: &NetSuiteClient,
) -> Result<DoctorReport> {
    let needs = needs(config);
    let mut describes: BTreeMap<String, Metadata<SObjectDescribe>> = BTreeMap::new();
    let mut records: BTreeMap<String, Metadata<RecordMetadata>> = BTreeMap::new();
    for need in &needs {
        let object = need.object.clone();
        match need.side {
            Side::Salesforce if !describes.contains_key(&object) => {
                let found = match salesforce.describe(&object).await {
                    Ok(describe) => Metadata::Found(describe),
                    Err(SalesforceError::Api { status: 404, .. }) => Metadata::Missing,
                    Err(err) => return Err(err.into()),
                };
                describes.insert(object, found);
            }
            Side::NetSuite if !records.contains_key(&object) => {
                let found = match netsuite.record_metadata(&object).await {
                    Ok(metadata) => Metadata::Found(metadata),
                    Err(NetSuiteError::Api { status: 404, .. }) => Metadata::Missing,
                    Err(err) => return Err(err.into()),
                };
                records.insert(object, found);
            }
            _ => {}
        }
    }
    let problems = needs
        .iter()
        .flat_map(|need| check::check(need, &describes, &records))
        .collect();
    Ok(DoctorReport::new(needs.len(), problems))
}

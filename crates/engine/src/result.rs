//! What a sync did, in the engine's own terms: a typed [`Outcome`] and field changes as JSON
//! values. The services convert a [`SyncResult`] to the protobuf `isthmus.common.v1.SyncResult`
//! once, at their edge (`isthmus-grpc`); the engine never builds a wire message. Job records keep
//! it as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a sync did (or, on a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Conflict,
    Failed,
    /// Accepted as a job that has not finished yet: see `job_id`.
    Queued,
}

impl Outcome {
    /// The lower-case name callers see (`created`, `queued`, …): in REST answers, the audit log,
    /// metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
            Self::Conflict => "conflict",
            Self::Failed => "failed",
            Self::Queued => "queued",
        }
    }

    /// The outcome's number in `isthmus.common.v1.Outcome` (the one mapping both ways, used by
    /// the services' edge and by the engine's own gRPC client of the customers service).
    pub fn to_wire(self) -> i32 {
        use isthmus_proto::common::v1::Outcome as Wire;
        (match self {
            Self::Created => Wire::Created,
            Self::Updated => Wire::Updated,
            Self::Unchanged => Wire::Unchanged,
            Self::Skipped => Wire::Skipped,
            Self::Conflict => Wire::Conflict,
            Self::Failed => Wire::Failed,
            Self::Queued => Wire::Queued,
        }) as i32
    }

    /// The outcome of a wire number; `None` for unspecified or unknown numbers.
    pub fn from_wire(wire: i32) -> Option<Self> {
        use isthmus_proto::common::v1::Outcome as Wire;
        Some(match Wire::try_from(wire).ok()? {
            Wire::Unspecified => return None,
            Wire::Created => Self::Created,
            Wire::Updated => Self::Updated,
            Wire::Unchanged => Self::Unchanged,
            Wire::Skipped => Self::Skipped,
            Wire::Conflict => Self::Conflict,
            Wire::Failed => Self::Failed,
            Wire::Queued => Self::Queued,
        })
    }

    /// Whether the sync wrote to the far side.
    pub fn wrote(self) -> bool {
        matches!(self, Self::Created | Self::Updated)
    }
}

/// By name; also by wire number, as job records written before the engine had its own result
/// type kept it (so a job in flight across an upgrade still reads).
impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Wire(i32),
        }
        let all = [
            Self::Created,
            Self::Updated,
            Self::Unchanged,
            Self::Skipped,
            Self::Conflict,
            Self::Failed,
            Self::Queued,
        ];
        match Raw::deserialize(deserializer)? {
            Raw::Name(name) => all.into_iter().find(|o| o.as_str() == name),
            Raw::Wire(number) => Self::from_wire(number),
        }
        .ok_or_else(|| serde::de::Error::custom("unknown sync outcome"))
    }
}

/// One field that differs between what the far side holds and what the sync writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Which record: `netsuite.customer`, `netsuite.contact:<external id>`, `salesforce.Account`…
    pub record: String,
    /// The far side's field name (`companyName`, `BillingCity`, …).
    pub field: String,
    /// The value before the write; `None` when the record or the value does not exist yet.
    pub before: Option<Value>,
    /// The value after the write; `None` when the value is removed.
    pub after: Option<Value>,
}

impl FieldChange {
    /// A field set to `value` on `record` (a JSON null is no value).
    pub fn set(record: impl Into<String>, field: impl Into<String>, value: &Value) -> Self {
        Self {
            record: record.into(),
            field: field.into(),
            before: None,
            after: (!value.is_null()).then(|| value.clone()),
        }
    }
}

/// The result of one record's sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResult {
    pub outcome: Outcome,
    /// The flow that ran, e.g. `customers.account_to_customer`.
    pub flow: String,
    /// 18-character Salesforce id of the record (empty when unknown).
    pub salesforce_id: String,
    /// NetSuite internal id of the record (empty when not created yet).
    pub netsuite_id: String,
    pub changes: Vec<FieldChange>,
    pub warnings: Vec<String>,
    /// The rule that found the far record: `id_map`, `external_id`, `email_domain`, … or empty.
    pub matched_rule: String,
    pub dry_run: bool,
    /// W3C trace id of the request that produced this result.
    pub trace_id: String,
    /// The queue job that ran (or will run) this sync.
    pub job_id: String,
}

impl SyncResult {
    /// A result with the fields every outcome carries; the rest empty.
    pub fn new(flow: &str, outcome: Outcome, dry_run: bool, trace_id: &str) -> Self {
        Self {
            outcome,
            flow: flow.to_string(),
            salesforce_id: String::new(),
            netsuite_id: String::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            matched_rule: String::new(),
            dry_run,
            trace_id: trace_id.to_string(),
            job_id: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_kept_as_json_with_named_outcomes_and_json_values() {
        let mut result = SyncResult::new("catalog.item_to_product", Outcome::Updated, false, "t");
        result.changes.push(FieldChange::set(
            "salesforce.Product2",
            "Name",
            &Value::from("Widget"),
        ));
        result.changes.push(FieldChange::set(
            "salesforce.Product2",
            "Family",
            &Value::Null,
        ));
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["outcome"], "updated");
        assert_eq!(json["changes"][0]["after"], "Widget");
        assert!(json["changes"][1]["after"].is_null());
        let back: SyncResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
        assert_eq!(Outcome::Queued.as_str(), "queued");
        assert!(Outcome::Created.wrote() && !Outcome::Skipped.wrote());
        for outcome in [Outcome::Created, Outcome::Failed, Outcome::Queued] {
            assert_eq!(Outcome::from_wire(outcome.to_wire()), Some(outcome));
        }
        assert_eq!(Outcome::from_wire(0), None);
        assert_eq!(Outcome::from_wire(99), None);
        let legacy: Outcome =
            serde_json::from_str(&Outcome::Skipped.to_wire().to_string()).unwrap();
        assert_eq!(legacy, Outcome::Skipped);
        assert!(serde_json::from_str::<Outcome>("\"maybe\"").is_err());
    }
}

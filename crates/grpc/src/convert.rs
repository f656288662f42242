//! The engine's types to and from their protobuf messages, once, at the service edge.

use isthmus_engine::work::Delivery;
use isthmus_engine::{FieldChange, SyncResult};
use isthmus_proto::common::v1 as pb;

/// A sync result as its message: the outcome by number, field values JSON-encoded.
pub fn sync_result(result: SyncResult) -> pb::SyncResult {
    pb::SyncResult {
        outcome: result.outcome.to_wire(),
        flow: result.flow,
        salesforce_id: result.salesforce_id,
        netsuite_id: result.netsuite_id,
        changes: result.changes.into_iter().map(field_change).collect(),
        warnings: result.warnings,
        matched_rule: result.matched_rule,
        dry_run: result.dry_run,
        trace_id: result.trace_id,
        job_id: result.job_id,
    }
}

/// Each of `results` as its message.
pub fn sync_results(results: Vec<SyncResult>) -> Vec<pb::SyncResult> {
    results.into_iter().map(sync_result).collect()
}

pub fn field_change(change: FieldChange) -> pb::FieldChange {
    pb::FieldChange {
        record: change.record,
        field: change.field,
        before: change.before.map(|v| v.to_string()),
        after: change.after.map(|v| v.to_string()),
    }
}

/// How the caller's options ask for a sync: a dry run, queued at once, or inline up to the wait.
pub fn delivery(options: Option<&pb::SyncOptions>) -> Delivery {
    match options {
        Some(o) if o.dry_run => Delivery::DryRun,
        Some(o) if o.delivery == pb::Delivery::Async as i32 => Delivery::Queue,
        _ => Delivery::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_engine::Outcome;

    #[test]
    fn values_travel_json_encoded_and_outcomes_by_number() {
        let mut result = SyncResult::new(
            "customers.account_to_customer",
            Outcome::Created,
            false,
            "t",
        );
        result.changes.push(FieldChange::set(
            "netsuite.customer",
            "companyName",
            &"Acme".into(),
        ));
        let message = sync_result(result);
        assert_eq!(message.outcome, pb::Outcome::Created as i32);
        assert_eq!(message.changes[0].after.as_deref(), Some("\"Acme\""));
        assert_eq!(message.changes[0].before, None);
    }

    #[test]
    fn options_choose_the_delivery() {
        let options = |dry_run, delivery: pb::Delivery| pb::SyncOptions {
            dry_run,
            delivery: delivery as i32,
        };
        assert_eq!(delivery(None), Delivery::Wait);
        assert_eq!(
            delivery(Some(&options(true, pb::Delivery::Async))),
            Delivery::DryRun
        );
        assert_eq!(
            delivery(Some(&options(false, pb::Delivery::Async))),
            Delivery::Queue
        );
        assert_eq!(
            delivery(Some(&options(false, pb::Delivery::Unspecified))),
            Delivery::Wait
        );
    }
}

//! `ErasePerson`: the id checked once here (so a malformed one never reaches a vendor, a query
//! or Redis), the erasure run by the engine, its audit entry written, the answer converted.

use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::erasure::{Erasure as Outcome, Person};
use isthmus_engine::customers::CustomerFlows;
use isthmus_grpc::ids::{netsuite_id, salesforce_id};
use isthmus_proto::customers::v1::erase_person_request::Person as Id;
use isthmus_proto::customers::v1::{ErasePersonRequest, Erasure};
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SObject;
use tonic::Status;

pub async fn erase(
    flows: &CustomerFlows,
    log: &SyncLog,
    request: ErasePersonRequest,
    trace_id: &str,
) -> Result<Erasure, Status> {
    let person = match &request.person {
        Some(Id::SalesforceContactId(raw)) => {
            Person::Salesforce(salesforce_id(raw, SObject::Contact)?)
        }
        Some(Id::NetsuiteContactId(raw)) => Person::NetSuite(netsuite_id(raw, "contact")?),
        None => {
            return Err(ErrorCode::InvalidArgument
                .status("give salesforce_contact_id or netsuite_contact_id"))
        }
    };
    let actor = request.actor.trim();
    if actor.len() > 100 || actor.chars().any(char::is_control) {
        return Err(
            ErrorCode::InvalidArgument.status("actor must be at most 100 printable characters")
        );
    }
    let outcome = flows.erase_person(&person, request.dry_run).await?;
    log.erased(&outcome, actor, trace_id).await;
    Ok(message(outcome))
}

fn message(outcome: Outcome) -> Erasure {
    Erasure {
        salesforce_contact_id: outcome.salesforce_contact_id.unwrap_or_default(),
        netsuite_contact_id: outcome.netsuite_contact_id.unwrap_or_default(),
        salesforce_account_id: outcome.salesforce_account_id.unwrap_or_default(),
        netsuite_customer_id: outcome.netsuite_customer_id.unwrap_or_default(),
        salesforce: outcome.salesforce.as_str().to_string(),
        netsuite: outcome.netsuite.as_str().to_string(),
        salesforce_mode: outcome.salesforce_mode.as_str().to_string(),
        netsuite_mode: outcome.netsuite_mode.as_str().to_string(),
        audit_entries_redacted: outcome.audit_entries_redacted,
        dry_run: outcome.dry_run,
    }
}

//! Ids in a request, parsed once at the RPC edge into the connector crates' typed ids. A bad
//! value is `INVALID_ARGUMENT` with the one message shape of [`isthmus_proto::rejected`], and
//! nothing past the edge sees a raw id.

use isthmus_netsuite::NetSuiteId;
use isthmus_proto::{rejected, ErrorCode};
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_store::RecordId;
use tonic::Status;

/// An id of `object` (checksum and key prefix checked).
pub fn salesforce_id(raw: &str, object: SObject) -> Result<SalesforceId, Status> {
    SalesforceId::parse_as(raw, object)
        .map_err(|e| ErrorCode::InvalidArgument.status(rejected(raw, &object.id_noun(), e)))
}

/// Any Salesforce id (checksum checked).
pub fn any_salesforce_id(raw: &str) -> Result<SalesforceId, Status> {
    SalesforceId::parse(raw)
        .map_err(|e| ErrorCode::InvalidArgument.status(rejected(raw, "a Salesforce id", e)))
}

/// A NetSuite internal id of a `record` (`customer`, `sales order`, …).
pub fn netsuite_id(raw: &str, record: &str) -> Result<NetSuiteId, Status> {
    NetSuiteId::parse(raw).map_err(|e| {
        ErrorCode::InvalidArgument.status(rejected(raw, &format!("a NetSuite {record} id"), e))
    })
}

/// The id of a job, run or conflict Isthmus made (`what`: "a job id", …).
pub fn record_id(raw: &str, what: &str) -> Result<RecordId, Status> {
    RecordId::parse(raw).map_err(|e| ErrorCode::InvalidArgument.status(rejected(raw, what, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ids_are_invalid_argument_with_the_value_shown() {
        let err = salesforce_id("006000000000001AAA", SObject::Account).unwrap_err();
        assert_eq!(ErrorCode::from_status(&err), ErrorCode::InvalidArgument);
        assert_eq!(
            err.message(),
            "'006000000000001AAA' is not an Account id: an Account id starts with 001, not 006"
        );
        let err = netsuite_id("1' OR '1'='1", "customer").unwrap_err();
        assert_eq!(
            err.message(),
            "'1\\' OR \\'1\\'=\\'1' is not a NetSuite customer id: a NetSuite internal id is 1 to 20 digits, without leading zeros"
        );
        assert_eq!(netsuite_id("42", "item").unwrap().as_str(), "42");
        assert!(any_salesforce_id("001000000000001AAA").is_ok());
        let err = record_id("nope", "a job id").unwrap_err();
        assert_eq!(
            err.message(),
            "'nope' is not a job id: an id is 32 lower-case hex characters"
        );
    }
}

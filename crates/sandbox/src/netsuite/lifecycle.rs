//! Leads, prospects and customers: one customer record whose `entityStatus` names a customer
//! status, and whose read-only `stage` is that status's stage.
//!
//! Guarantees, inside the write's transaction:
//! - a customer created without `entityStatus` is `CUSTOMER-Closed Won` (13), as a customer
//!   record made through REST web services is (the lead and prospect forms are other entry
//!   points NetSuite offers; here a lead or prospect is a customer record given such a status);
//! - `stage` always follows the status, on create and on update;
//! - creating a sales order for a lead or a prospect promotes it to `CUSTOMER-Closed Won`, as
//!   NetSuite does when the first order is entered; a customer stays in its status.
//!
//! Not simulated: the account preference choosing another default status, the history of stage
//! dates (`leadDate`, `prospectDate`, …), estimates and opportunities (which move a lead to
//! prospect in NetSuite). An unknown status id is refused by the reference check of every
//! `Ref` field (`INVALID_CONTENT`, nothing written).

use rusqlite::Transaction;

use super::error::ApiError;
use super::schema::{RecordType, CLOSED_WON};

/// Applies the lifecycle rules after record `id` of `record_type` was written (`created` on an
/// insert) at time `at`, before the transaction commits.
pub fn settle(
    tx: &Transaction,
    record_type: &RecordType,
    id: i64,
    created: bool,
    at: &str,
) -> Result<(), ApiError> {
    match record_type.name {
        "customer" => {
            if created {
                tx.execute(
                    "UPDATE customer SET entitystatus = ?1 WHERE id = ?2 AND entitystatus IS NULL",
                    [CLOSED_WON, id],
                )?;
            }
            derive_stage(tx, id)
        }
        "salesOrder" if created => {
            tx.execute(
                "UPDATE customer SET entitystatus = ?1, stage = 'CUSTOMER', lastmodifieddate = ?3
                  WHERE id = (SELECT entity FROM \"transaction\" WHERE id = ?2)
                    AND stage IN ('LEAD', 'PROSPECT')",
                rusqlite::params![CLOSED_WON, id, at],
            )?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The customer's `stage` from its status (NULL when it has none, as after a status was cleared).
fn derive_stage(tx: &Transaction, id: i64) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE customer
            SET stage = (SELECT s.stage FROM customerstatus s WHERE s.id = customer.entitystatus)
          WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

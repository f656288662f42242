//! The backfill's Salesforce side through Bulk API 2.0, used above `salesforce.bulk_threshold`.
//!
//! What for: reading 20,000 accounts in REST pages and writing their ids back in Collections of
//! 200 costs about 110 calls of the daily allocation; two query jobs and one ingest job cost
//! about fifteen, whatever the number of accounts.
//!
//! Guarantees:
//! - [`CustomerFlows::bulk_accounts`] yields the records the REST walk yields: the same fields,
//!   each account's contacts nested as a `Contacts` child result in `CreatedDate, Id` order
//!   (`null` when it has none), accounts in `Id` order. Bulk API 2.0 takes no child subqueries
//!   and no `ORDER BY`, so contacts are a second job (filtered through the `Account` parent
//!   relationship) joined and ordered here.
//! - [`CustomerFlows::write_back_ids_bulk`] answers as [`CustomerFlows::write_back_ids`] does:
//!   the accounts Salesforce refused, with why. A row the job failed (`failedResults`) or never
//!   processed (`unprocessedrecords`) is refused; the caller requeues it, as it requeues a row
//!   Collections refused.
//!
//! Non-goal: streaming. The accounts are held in memory (a few KB each); a walk over millions
//! would want the results pages consumed as they come.

use std::collections::HashMap;

use isthmus_salesforce::{BulkOperation, BulkPolling, BulkQuery};
use serde_json::{json, Map, Value};

use super::mapping::{self, text, Record};
use super::CustomerFlows;
use crate::error::Result;

/// Ids written back per ingest job. A job costs its create, upload, `UploadComplete` and polls
/// whatever its size (Salesforce cuts it into internal batches of 10,000 itself), so fewer,
/// larger jobs spend less of the allocation: 50,000 ids are about 2 MB of CSV.
pub(crate) const BULK_WRITE_BACK_SIZE: usize = 50_000;

impl CustomerFlows {
    /// The accounts (`fields`, with their contacts) that `condition` selects (every account when
    /// `None`), as the REST walk of the backfill reads them.
    pub(crate) async fn bulk_accounts(
        &self,
        fields: &str,
        condition: Option<&str>,
    ) -> Result<Vec<Record>> {
        let filter = condition.map_or(String::new(), |c| format!(" WHERE {c}"));
        let mut accounts = self
            .salesforce
            .bulk_query(&BulkQuery::new(format!(
                "SELECT {fields} FROM Account{filter}"
            )))
            .await?;
        // The same accounts' contacts: the condition read through the parent relationship.
        let contact_filter = condition.map_or("AccountId != null".to_owned(), |c| {
            format!("AccountId != null AND Account.{c}")
        });
        let contacts = self
            .salesforce
            .bulk_query(&BulkQuery::new(format!(
                "SELECT {}, AccountId, CreatedDate FROM Contact WHERE {contact_filter}",
                mapping::sf_contact_fields(&self.config).join(", ")
            )))
            .await?;
        let mut by_account = group_contacts(contacts);
        accounts.sort_by_key(|a| text(a, "Id").unwrap_or_default());
        for account in &mut accounts {
            let id = text(account, "Id").unwrap_or_default();
            let children = by_account
                .remove(id.get(..15).unwrap_or(&id))
                .unwrap_or_default();
            let value = if children.is_empty() {
                Value::Null
            } else {
                json!({
                    "totalSize": children.len(),
                    "done": true,
                    "records": children.into_iter().map(Value::Object).collect::<Vec<_>>(),
                })
            };
            account.insert("Contacts".into(), value);
        }
        Ok(accounts)
    }

    /// Writes each account's customer id to its `NetSuite_Id__c` through ingest jobs (`ids`:
    /// account, customer). `Ok` with the accounts Salesforce refused or did not process and why;
    /// `Err` when a job could not be run at all.
    pub(crate) async fn write_back_ids_bulk(
        &self,
        ids: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Record> = ids
            .iter()
            .map(|(account, customer)| {
                let mut record = Map::new();
                record.insert("Id".into(), Value::String(account.clone()));
                record.insert("NetSuite_Id__c".into(), Value::String(customer.clone()));
                record
            })
            .collect();
        let outcome = self
            .salesforce
            .bulk_ingest(
                "Account",
                &BulkOperation::Update,
                &records,
                &BulkPolling::default(),
            )
            .await?;
        let id_of = |id: Option<&String>, fields: &HashMap<String, String>| {
            id.or_else(|| fields.get("Id")).cloned().unwrap_or_default()
        };
        let mut refused: Vec<(String, String)> = outcome
            .failed
            .iter()
            .map(|row| {
                let why = if row.error.error_code.is_empty() {
                    row.error.message.clone()
                } else {
                    format!("{}: {}", row.error.error_code, row.error.message)
                };
                (id_of(row.id.as_ref(), &row.fields), why)
            })
            .collect();
        refused.extend(outcome.unprocessed.iter().map(|fields| {
            (
                id_of(None, fields),
                "not processed: the ingest job ended before this row".to_owned(),
            )
        }));
        // Answer in the caller's ids (the job may echo a 15- or 18-character form).
        let by_prefix: HashMap<&str, &str> = ids
            .iter()
            .map(|(account, _)| (account.get(..15).unwrap_or(account), account.as_str()))
            .collect();
        for (account, _) in &mut refused {
            if let Some(ours) = by_prefix.get(account.get(..15).unwrap_or(account)) {
                *account = (*ours).to_owned();
            }
        }
        Ok(refused)
    }
}

/// Contacts by their account's 15-character id, each list in `CreatedDate, Id` order and each
/// contact with only the fields the REST child subquery selects.
fn group_contacts(contacts: Vec<Record>) -> HashMap<String, Vec<Record>> {
    let mut by_account: HashMap<String, Vec<(String, String, Record)>> = HashMap::new();
    for mut contact in contacts {
        let account = text(&contact, "AccountId").unwrap_or_default();
        let created = text(&contact, "CreatedDate").unwrap_or_default();
        let id = text(&contact, "Id").unwrap_or_default();
        contact.remove("AccountId");
        contact.remove("CreatedDate");
        by_account
            .entry(account.get(..15).unwrap_or(&account).to_owned())
            .or_default()
            .push((created, id, contact));
    }
    by_account
        .into_iter()
        .map(|(account, mut list)| {
            list.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            (account, list.into_iter().map(|(_, _, c)| c).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn contacts_group_by_account_in_created_order_without_the_join_fields() {
        let contacts = vec![
            record(
                json!({ "Id": "003B", "AccountId": "001000000000001AAA", "CreatedDate": "2026-01-02T00:00:00.000Z", "LastName": "Late" }),
            ),
            record(
                json!({ "Id": "003A", "AccountId": "001000000000001AAA", "CreatedDate": "2026-01-01T00:00:00.000Z", "LastName": "Early" }),
            ),
            record(
                json!({ "Id": "003C", "AccountId": "001000000000002AAA", "CreatedDate": "2026-01-01T00:00:00.000Z", "LastName": "Other" }),
            ),
        ];
        let grouped = group_contacts(contacts);
        let first = &grouped["001000000000001"];
        assert_eq!(first.len(), 2);
        assert_eq!(first[0]["LastName"], "Early");
        assert_eq!(first[1]["LastName"], "Late");
        assert!(first[0].get("AccountId").is_none() && first[0].get("CreatedDate").is_none());
        assert_eq!(grouped["001000000000002"].len(), 1);
    }
}

//! What NetSuite fills in on create when the body leaves it out: auto-numbered `entityId` and
//! `tranId`, the customer's (or the primary) subsidiary and its currency, today's `tranDate`, an
//! invoice's `dueDate` (Net 30), a contact's `globalSubscriptionStatus` (Soft Opt-In), the order and ship statuses, and a transaction's billing and
//! shipping addresses from the customer's default address book lines.
//!
//! The sales order default status is `B` (Pending Fulfillment): the account preference "Default
//! Sales Order Status" is set that way here (NetSuite's out-of-the-box value is Pending Approval).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::error::ApiError;
use super::schema::RecordType;
use super::store::{Db, Write};
use super::sublist::address;

/// Days from `tranDate` to an invoice's default `dueDate`.
const NET_DAYS: i64 = 30;

impl Db {
    pub(super) fn apply_defaults(
        &self,
        record_type: &RecordType,
        id: i64,
        write: &mut Write,
        at: &str,
    ) -> Result<(), ApiError> {
        let conn = &self.conn;
        if record_type.is_transaction() {
            inherit_entity(conn, record_type, write)?;
        }
        let entity = integer(write, "entity").or_else(|| integer(write, "customer"));
        let customer = match entity {
            Some(entity) => conn
                .query_row(
                    "SELECT subsidiary, currency FROM customer WHERE id = ?1",
                    [entity],
                    |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                )
                .optional()?,
            None => None,
        };
        if !given(write, "subsidiary") {
            let subsidiary = customer.and_then(|c| c.0).unwrap_or(1);
            push(
                record_type,
                write,
                "subsidiary",
                SqlValue::Integer(subsidiary),
            );
        }
        if !given(write, "currency") {
            let from_subsidiary = match integer(write, "subsidiary") {
                Some(s) => conn
                    .query_row("SELECT currency FROM subsidiary WHERE id = ?1", [s], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                    .optional()?
                    .flatten(),
                None => None,
            };
            let currency = customer.and_then(|c| c.1).or(from_subsidiary).unwrap_or(1);
            push(record_type, write, "currency", SqlValue::Integer(currency));
        }
        if record_type.field("entityId").is_some() && !given(write, "entityId") {
            let entity_id = match record_type.name {
                "contact" => [text(write, "firstName"), text(write, "lastName")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => format!("CUS{id}"),
            };
            push(record_type, write, "entityId", SqlValue::Text(entity_id));
        }
        if record_type.field("globalSubscriptionStatus").is_some()
            && !given(write, "globalSubscriptionStatus")
        {
            // Soft Opt-In: "Unsubscribed to Marketing By Default" is off, NetSuite's default.
            let soft_opt_in = SqlValue::Text("1".into());
            push(record_type, write, "globalSubscriptionStatus", soft_opt_in);
        }
        if record_type.is_transaction() {
            transaction_defaults(conn, record_type, id, write, entity, at)?;
        }
        Ok(())
    }
}

/// A transaction created from another (`createdFrom`) bills or ships to the same customer.
fn inherit_entity(
    conn: &Connection,
    record_type: &RecordType,
    write: &mut Write,
) -> Result<(), ApiError> {
    if given(write, "entity") || record_type.field("entity").is_none() {
        return Ok(());
    }
    if let Some(source) = integer(write, "createdFrom") {
        let entity: Option<i64> = conn
            .query_row(
                "SELECT entity FROM \"transaction\" WHERE id = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(entity) = entity {
            push(record_type, write, "entity", SqlValue::Integer(entity));
        }
    }
    Ok(())
}

fn transaction_defaults(
    conn: &Connection,
    record_type: &RecordType,
    id: i64,
    write: &mut Write,
    entity: Option<i64>,
    at: &str,
) -> Result<(), ApiError> {
    if !given(write, "tranId") {
        let prefix = match record_type.type_code() {
            Some("SalesOrd") => "SO",
            Some("Estimate") => "EST",
            Some("ItemShip") => "IF",
            Some("CustInvc") => "INV",
            Some("CustPymt") => "PYMT",
            _ => "CM",
        };
        push(
            record_type,
            write,
            "tranId",
            SqlValue::Text(format!("{prefix}{id}")),
        );
    }
    if !given(write, "tranDate") {
        let today = at.get(..10).unwrap_or(at).to_owned();
        push(record_type, write, "tranDate", SqlValue::Text(today));
    }
    if record_type.field("dueDate").is_some() && !given(write, "dueDate") {
        let due = text(write, "tranDate")
            .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .map(|d| (d + chrono::Duration::days(NET_DAYS)).to_string());
        if let Some(due) = due {
            push(record_type, write, "dueDate", SqlValue::Text(due));
        }
    }
    for (field, code) in [("orderStatus", "B"), ("shipStatus", "C")] {
        if record_type.field(field).is_some() && !given(write, field) {
            push(record_type, write, field, SqlValue::Text(code.into()));
        }
    }
    let Some(entity) = entity else { return Ok(()) };
    for (field, flag) in [
        ("billingAddress", "defaultBilling"),
        ("shippingAddress", "defaultShipping"),
    ] {
        if record_type.field(field).is_none() || given(write, field) {
            continue;
        }
        if let Some(address) = default_address(conn, entity, flag)? {
            push(
                record_type,
                write,
                field,
                SqlValue::Text(address.to_string()),
            );
        }
    }
    Ok(())
}

/// The address of the customer's default billing (or shipping) address book line.
fn default_address(conn: &Connection, entity: i64, flag: &str) -> rusqlite::Result<Option<Value>> {
    let book = address::read(conn, entity, None)?;
    let line = book["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i[flag] == Value::Bool(true)));
    Ok(line.map(|line| {
        let mut address = line["addressBookAddress"].clone();
        if let Some(map) = address.as_object_mut() {
            map.remove("id");
        }
        address
    }))
}

fn given(write: &Write, name: &str) -> bool {
    write
        .values
        .iter()
        .any(|(f, v)| f.name == name && *v != SqlValue::Null)
}

fn integer(write: &Write, name: &str) -> Option<i64> {
    write.values.iter().find_map(|(f, v)| match v {
        SqlValue::Integer(i) if f.name == name => Some(*i),
        _ => None,
    })
}

fn text(write: &Write, name: &str) -> Option<String> {
    write.values.iter().find_map(|(f, v)| match v {
        SqlValue::Text(t) if f.name == name => Some(t.clone()),
        _ => None,
    })
}

fn push(record_type: &RecordType, write: &mut Write, name: &str, value: SqlValue) {
    if let Some(field) = record_type.field(name) {
        write.values.retain(|(f, _)| f.name != name);
        write.values.push((field, value));
    }
}

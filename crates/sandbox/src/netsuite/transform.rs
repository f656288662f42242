//! `POST record/v1/{type}/{id}/!transform/{targetType}`: creates a record from another, as
//! NetSuite's transform does, and answers 204 with the new record's `Location`. The optional
//! JSON body sets or overrides fields of the new record (a sublist in it replaces the copied lines).
//!
//! Supported: sales order → item fulfilment (the quantities not yet fulfilled) and → invoice (not
//! yet billed); invoice → customer payment (applied to the invoice's amount remaining) and →
//! credit memo (the invoice's lines, applied to it); estimate → sales order (the estimate's lines
//! and body references, `createdFrom` the estimate, which the ledger then marks Processed; only
//! an Open estimate can be transformed, *unconfirmed*). Refusals answer 400 `USER_ERROR`, unknown
//! pairs 400 `INVALID_PARAMETER` (both codes *unconfirmed*).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::ledger::order_lines;
use super::records::{created, parse_body, record_type_of};
use super::schema::RecordType;
use super::validation::{with_warnings, NameValidation};
use crate::time::{now, ns_timestamp};
use crate::Sandbox;

pub async fn transform(
    State(sandbox): State<Sandbox>,
    Path((source, key, target)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let overrides = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        parse_body(&body)?
    };
    let names = NameValidation::of(&headers)?;
    let (new_id, dropped) = transform_record(&sandbox, &source, &key, &target, overrides, names)?;
    Ok(with_warnings(
        created(&headers, record_type_of(&target)?, new_id),
        names,
        &dropped,
    ))
}

/// Creates a `target` record from record `key` of type `source` as the transform endpoint does
/// (`overrides` set or replace fields of the new record, unknown ones treated as `names` says);
/// its internal id and the override fields dropped.
pub(crate) fn transform_record(
    sandbox: &Sandbox,
    source: &str,
    key: &str,
    target: &str,
    overrides: Map<String, Value>,
    names: NameValidation,
) -> Result<(i64, Vec<String>), ApiError> {
    let source = record_type_of(source)?;
    let target = record_type_of(target)?;
    let id = sandbox.ns_resolve(source, key)?;
    let mut db = sandbox.inner.account.db();
    let mut fields = initial(&db.conn, source, id, target)?;
    fields.extend(overrides);
    db.insert_checked(target, &fields, &ns_timestamp(now()), names)
}

/// The source transaction's body fields a transform carries over.
struct Source {
    entity: Option<i64>,
    subsidiary: Option<i64>,
    currency: Option<i64>,
    status: Option<String>,
    remaining: Option<f64>,
}

/// The body of the record a transform creates.
fn initial(
    conn: &Connection,
    source: &RecordType,
    id: i64,
    target: &RecordType,
) -> Result<Map<String, Value>, ApiError> {
    let refused = || {
        ApiError::user_error(format!(
            "You can not initialize {}: invalid reference {id}.",
            target.name.to_lowercase()
        ))
    };
    let from = conn
        .query_row(
            "SELECT entity, subsidiary, currency, status, foreignamountremaining
             FROM \"transaction\" WHERE id = ?1",
            [id],
            |r| {
                Ok(Source {
                    entity: r.get(0)?,
                    subsidiary: r.get(1)?,
                    currency: r.get(2)?,
                    status: r.get(3)?,
                    remaining: r.get(4)?,
                })
            },
        )
        .optional()?
        .ok_or_else(refused)?;
    let reference = |id: Option<i64>| id.map(|id| json!({ "id": id.to_string() }));
    let mut body = Map::new();
    let mut set = |name: &str, value: Option<Value>| {
        if let (Some(value), Some(_)) = (value, target.field(name)) {
            body.insert(name.to_owned(), value);
        }
    };
    set("entity", reference(from.entity));
    set("customer", reference(from.entity));
    set("subsidiary", reference(from.subsidiary));
    set("currency", reference(from.currency));
    set("createdFrom", reference(Some(id)));
    let status = from.status.as_deref().unwrap_or_default();
    match (source.name, target.name) {
        ("salesOrder", "itemFulfillment" | "invoice") => {
            let fulfilling = target.name == "itemFulfillment";
            let open = if fulfilling {
                matches!(status, "B" | "D" | "E")
            } else {
                !matches!(status, "A" | "C" | "G" | "H")
            };
            if !open {
                return Err(refused());
            }
            let lines: Vec<Value> = order_lines(conn, id)?
                .into_iter()
                .filter_map(|l| {
                    let done = if fulfilling { l.fulfilled } else { l.billed };
                    let quantity = l.quantity - done;
                    (quantity > 0.0).then(|| {
                        let mut line = json!({
                            "item": { "id": l.item.map(|i| i.to_string()) },
                            "quantity": quantity,
                            "orderLine": l.line,
                        });
                        if let Some(description) = l.description {
                            line["description"] = json!(description);
                        }
                        if let (false, Some(rate)) = (fulfilling, l.rate) {
                            line["rate"] = json!(rate);
                        }
                        if let Some(units) = l.units {
                            line["units"] = json!({ "id": units.to_string() });
                        }
                        if let (false, Some(code)) = (fulfilling, l.tax_code) {
                            line["taxCode"] = json!({ "id": code.to_string() });
                        }
                        line
                    })
                })
                .collect();
            if lines.is_empty() {
                return Err(refused());
            }
            body.insert("item".into(), json!({ "items": lines }));
        }
        ("invoice", "customerPayment" | "creditMemo") => {
            let remaining = from.remaining.unwrap_or_default();
            if remaining <= 0.0 {
                return Err(refused());
            }
            let mut amount = remaining;
            if target.name == "creditMemo" {
                let (lines, total) = invoice_lines(conn, id)?;
                amount = amount.min(total);
                body.insert("item".into(), json!({ "items": lines }));
            }
            body.insert(
                "apply".into(),
                json!({ "items": [{ "doc": { "id": id.to_string() }, "apply": true, "amount": amount }] }),
            );
        }
        ("estimate", "salesOrder") => {
            if status != "A" {
                return Err(refused());
            }
            let (lines, _) = invoice_lines(conn, id)?;
            body.insert("item".into(), json!({ "items": lines }));
        }
        _ => {
            return Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!(
                    "Transformation of a {} into a {} is not supported.",
                    source.name, target.name
                ),
            ))
        }
    }
    Ok(body)
}

/// An invoice's (or estimate's) item lines as a credit memo (or sales order) copies them, and
/// their total (tax included).
fn invoice_lines(conn: &Connection, invoice: i64) -> rusqlite::Result<(Vec<Value>, f64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT item, quantity, rate, amount, description, taxcode, units, COALESCE(tax1amt, 0) FROM tranitemline
         WHERE \"transaction\" = ?1 ORDER BY line",
    )?;
    let rows = stmt.query_map([invoice], |r| {
        Ok((
            r.get::<_, Option<i64>>(0)?,
            r.get::<_, Option<f64>>(1)?,
            r.get::<_, Option<f64>>(2)?,
            r.get::<_, Option<f64>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, f64>(7)?,
        ))
    })?;
    let mut lines = Vec::new();
    let mut total = 0.0;
    for row in rows {
        let (item, quantity, rate, amount, description, tax_code, units, tax) = row?;
        total += amount.unwrap_or_default() + tax;
        let reference = |id: Option<i64>| id.map(|i| json!({ "id": i.to_string() }));
        lines.push(json!({
            "taxCode": reference(tax_code),
            "units": reference(units),
            "item": { "id": item.map(|i| i.to_string()) },
            "quantity": quantity,
            "rate": rate,
            "amount": amount,
            "description": description,
        }));
    }
    Ok((lines, total))
}

//! A sales order's body as the orders flow builds and compares it: an Opportunity line as an
//! order line (discounted rate, amount), and the field-level diff between the order it would
//! write and the one NetSuite holds, with numbers compared as NetSuite renders them.

use serde_json::{json, Value};

use super::iso_date;
use super::to_sales_order::NS_ORDER;
use crate::customers::mapping::{text, Record};
use crate::result::FieldChange;

/// A sales order line for an opportunity line whose product is item `item`: the rate is the sales
/// price less the line's discount, the amount Salesforce's total price. `Err` says what the line
/// lacks.
pub(super) fn order_line(line: &Record, item: &str) -> Result<Value, &'static str> {
    let unit_price = number(line, "UnitPrice").ok_or("has no sales price")?;
    let quantity = number(line, "Quantity")
        .filter(|q| *q > 0.0)
        .ok_or("has no positive quantity")?;
    let discount = number(line, "Discount").unwrap_or(0.0);
    if !(0.0..=100.0).contains(&discount) {
        return Err("has a discount outside 0 to 100 %");
    }
    let rate = round_to(unit_price * (1.0 - discount / 100.0), 6);
    let amount = number(line, "TotalPrice").unwrap_or(quantity * rate);
    let mut ns_line = json!({
        "item": { "id": item },
        "quantity": quantity,
        "rate": rate,
        "amount": round_to(amount, 2),
    });
    if let Some(description) = text(line, "Description") {
        ns_line["description"] = json!(description);
    }
    Ok(ns_line)
}

fn number(record: &Record, field: &str) -> Option<f64> {
    match record.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn round_to(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

/// The fields `body` sets that differ from `existing` (absent: every field), as the dry run
/// shows them: body fields on `netsuite.salesOrder`, lines on `netsuite.salesOrder.item[n]`.
pub(super) fn order_changes(body: &Record, existing: Option<&Record>) -> Vec<FieldChange> {
    transaction_changes(NS_ORDER, body, existing)
}

/// As [`order_changes`], for any transaction with an `item` sublist (`record`: how the dry run
/// names it, e.g. `netsuite.estimate`).
pub(super) fn transaction_changes(
    record_name: &str,
    body: &Record,
    existing: Option<&Record>,
) -> Vec<FieldChange> {
    let shown = |v: &Value| v.clone();
    let mut changes = Vec::new();
    for (field, wanted) in body {
        if field == "item" {
            continue;
        }
        let before = existing.and_then(|e| e.get(field)).filter(|v| !v.is_null());
        if before.is_some_and(|b| same_value(b, wanted)) {
            continue;
        }
        changes.push(FieldChange {
            record: record_name.into(),
            field: field.clone(),
            before: before.map(shown),
            after: Some(shown(wanted)),
        });
    }
    let wanted_lines = lines_of(body);
    let existing_lines = existing.map(lines_of).unwrap_or_default();
    for n in 0..wanted_lines.len().max(existing_lines.len()) {
        let (before, after) = (existing_lines.get(n), wanted_lines.get(n));
        let record = format!("{record_name}.item[{}]", n + 1);
        for field in ["item", "quantity", "rate", "amount", "taxCode", "units"] {
            let b = before.and_then(|l| l.get(field)).filter(|v| !v.is_null());
            let a = after.and_then(|l| l.get(field)).filter(|v| !v.is_null());
            // A tax code or unit the flow does not set is NetSuite's (the item's sale unit).
            if matches!(field, "taxCode" | "units") && a.is_none() && after.is_some() {
                continue;
            }
            let same = match (b, a) {
                (Some(b), Some(a)) => same_value(b, a),
                (None, None) => true,
                _ => false,
            };
            if !same {
                changes.push(FieldChange {
                    record: record.clone(),
                    field: field.into(),
                    before: b.map(shown),
                    after: a.map(shown),
                });
            }
        }
    }
    changes
}

fn lines_of(record: &Record) -> Vec<Record> {
    record
        .get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).cloned().collect())
        .unwrap_or_default()
}

/// Equal as NetSuite means it: references by id, numbers by value, addresses by their parts.
fn same_value(current: &Value, wanted: &Value) -> bool {
    match (current, wanted) {
        (Value::Object(c), Value::Object(w)) if w.contains_key("id") => {
            id_text(c.get("id")) == id_text(w.get("id"))
        }
        (Value::Object(c), Value::Object(w)) => w.iter().all(|(k, v)| {
            v.is_null() && c.get(k).is_none_or(Value::is_null) || c.get(k) == Some(v)
        }),
        (c, w) if c.is_number() || w.is_number() => match (as_f64(c), as_f64(w)) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-6,
            _ => false,
        },
        (Value::String(c), Value::String(w)) => {
            c == w || iso_date(c).is_some_and(|d| Some(d) == iso_date(w))
        }
        (c, w) => c == w,
    }
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_order_shows_every_field_and_line() {
        let body = json!({
            "currency": {"id": "2"},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7"}, "quantity": 2.0, "rate": 10.0, "amount": 20.0}]},
        });
        let changes = order_changes(body.as_object().unwrap(), None);
        let fields: Vec<String> = changes
            .iter()
            .map(|c| format!("{}.{}", c.record, c.field))
            .collect();
        assert_eq!(
            fields,
            [
                "netsuite.salesOrder.currency",
                "netsuite.salesOrder.tranDate",
                "netsuite.salesOrder.item[1].item",
                "netsuite.salesOrder.item[1].quantity",
                "netsuite.salesOrder.item[1].rate",
                "netsuite.salesOrder.item[1].amount",
            ]
        );
        assert!(changes.iter().all(|c| c.before.is_none()));
    }

    #[test]
    fn an_order_as_netsuite_renders_it_is_unchanged() {
        let body = json!({
            "currency": {"id": "2"},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7"}, "quantity": 2.0, "rate": 10.0, "amount": 20.0}]},
        });
        let existing = json!({
            "id": "55",
            "currency": {"id": "2", "refName": "EUR", "links": []},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7", "refName": "X"}, "quantity": 2, "rate": 10, "amount": 20, "line": 1}]},
        });
        let changes = order_changes(body.as_object().unwrap(), existing.as_object());
        assert!(changes.is_empty(), "{changes:?}");
        let mut changed = body.clone();
        changed["item"]["items"][0]["quantity"] = json!(3.0);
        let changes = order_changes(changed.as_object().unwrap(), existing.as_object());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "quantity");
        assert_eq!(changes[0].before, Some(serde_json::json!(2)));
    }

    #[test]
    fn a_line_becomes_an_order_line_at_its_discounted_rate() {
        let line =
            json!({ "UnitPrice": 100.0, "Quantity": 3, "Discount": 12.5, "TotalPrice": 262.5 });
        let ns = order_line(line.as_object().unwrap(), "42").unwrap();
        assert_eq!(ns["item"]["id"], "42");
        assert_eq!(ns["rate"], json!(87.5));
        assert_eq!(ns["amount"], json!(262.5));
        assert_eq!(ns["quantity"], json!(3.0));
    }

    #[test]
    fn a_line_without_a_price_or_quantity_is_refused_with_the_reason() {
        let no_price = json!({ "UnitPrice": null, "Quantity": 1 });
        assert_eq!(
            order_line(no_price.as_object().unwrap(), "42").unwrap_err(),
            "has no sales price"
        );
        let no_quantity = json!({ "UnitPrice": 5.0, "Quantity": 0 });
        assert_eq!(
            order_line(no_quantity.as_object().unwrap(), "42").unwrap_err(),
            "has no positive quantity"
        );
        let odd_discount = json!({ "UnitPrice": 5.0, "Quantity": 1, "Discount": 120 });
        assert!(order_line(odd_discount.as_object().unwrap(), "42").is_err());
    }
}

//! The CSV of Bulk API 2.0, both ways.
//!
//! - Query results ([`parse_query_page`]): a header row of field names, then one row a record;
//!   an empty cell is a null. Records come out in the shape the REST query path yields: an
//!   `attributes` object (`type`, and `url` when the row has an `Id`), text values unless the
//!   caller typed a column ([`BulkField`]) as boolean or number, and a dotted column
//!   (`Account.Name`) nested as a parent object, `null` when all its cells are empty.
//! - Uploads ([`encode_rows`]): one header row, the union of the records' fields in the order
//!   they first appear; a field a record lacks is an empty cell (left as it is on update), a
//!   `null` is `#N/A` (set to null, as the Bulk API 2.0 guide documents). Quoting is the `csv`
//!   crate's RFC 4180 quoting, so commas, quotes and line breaks in values survive.
//! - Job results ([`parse_rows`]): `successfulResults`, `failedResults` and
//!   `unprocessedrecords` rows as maps from header to cell.
//!
//! Non-goal: other column delimiters or CRLF line endings; the jobs this client creates ask for
//! `COMMA` and `LF`.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::BulkField;
use crate::client::Record;
use crate::error::SalesforceError;

/// The cell that sets a field to null in an upload.
pub(crate) const NULL_CELL: &str = "#N/A";

fn csv_error(what: &str, err: &csv::Error) -> SalesforceError {
    SalesforceError::Decode(format!("{what} CSV: {err}"))
}

/// One query result page as records of `object`, with `url`s under `data_path`.
pub(crate) fn parse_query_page(
    body: &[u8],
    object: &str,
    data_path: &str,
    types: &HashMap<String, BulkField>,
) -> Result<Vec<Record>, SalesforceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error("query result", &e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error("query result", &e))?;
        let mut record = Record::new();
        let mut attributes = Map::new();
        attributes.insert("type".into(), Value::String(object.to_owned()));
        record.insert("attributes".into(), Value::Object(attributes));
        for (name, cell) in headers.iter().zip(row.iter()) {
            let value = typed(cell, types.get(name).copied().unwrap_or(BulkField::Text))?;
            match name.split_once('.') {
                None => {
                    record.insert(name.clone(), value);
                }
                Some((parent, field)) => nest(&mut record, parent, field, value),
            }
        }
        // A parent whose every cell was empty is a null lookup, as REST answers it.
        for value in record.values_mut() {
            if let Value::Object(parent) = value {
                if !parent.contains_key("type") && parent.values().all(Value::is_null) {
                    *value = Value::Null;
                }
            }
        }
        if let Some(Value::String(id)) = record.get("Id").cloned() {
            if let Some(Value::Object(attributes)) = record.get_mut("attributes") {
                attributes.insert(
                    "url".into(),
                    Value::String(format!("{data_path}sobjects/{object}/{id}")),
                );
            }
        }
        records.push(record);
    }
    Ok(records)
}

/// Puts `field` of the parent `parent` (`Account.Owner.Name` nests twice) into `record`.
fn nest(record: &mut Record, parent: &str, field: &str, value: Value) {
    let entry = record
        .entry(parent.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let Value::Object(inner) = entry else {
        return;
    };
    match field.split_once('.') {
        None => {
            inner.insert(field.to_owned(), value);
        }
        Some((grand, rest)) => nest(inner, grand, rest, value),
    }
}

/// A query result cell as the JSON value REST would give.
fn typed(cell: &str, kind: BulkField) -> Result<Value, SalesforceError> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match kind {
        BulkField::Text => Value::String(cell.to_owned()),
        BulkField::Boolean => match cell {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => {
                return Err(SalesforceError::Decode(format!(
                    "query result: {other:?} is not a boolean"
                )))
            }
        },
        BulkField::Number => {
            if let Ok(int) = cell.parse::<i64>() {
                Value::Number(int.into())
            } else {
                cell.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        SalesforceError::Decode(format!("query result: {cell:?} is not a number"))
                    })?
            }
        }
    })
}

/// Rows of a job result (or any CSV with a header row) as maps from header to cell.
pub(crate) fn parse_rows(body: &[u8]) -> Result<Vec<HashMap<String, String>>, SalesforceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error("job result", &e))?
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|row| {
            let row = row.map_err(|e| csv_error("job result", &e))?;
            Ok(headers
                .iter()
                .cloned()
                .zip(row.iter().map(str::to_owned))
                .collect())
        })
        .collect()
}

/// An upload's CSV: the header row and one row per record. `attributes` is never a column.
pub(crate) fn encode_rows(records: &[Record]) -> Result<Vec<u8>, SalesforceError> {
    let mut columns: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        for name in record.keys() {
            if name != "attributes" && seen.insert(name.to_ascii_lowercase()) {
                columns.push(name);
            }
        }
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let header_error = |e: csv::Error| csv_error("upload", &e);
    writer.write_record(&columns).map_err(header_error)?;
    for (at, record) in records.iter().enumerate() {
        let mut row = Vec::with_capacity(columns.len());
        for column in &columns {
            let value = record
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(column))
                .map(|(_, value)| value);
            row.push(match value {
                None => String::new(),
                Some(Value::Null) => NULL_CELL.to_owned(),
                Some(Value::String(text)) => text.clone(),
                Some(Value::Bool(flag)) => flag.to_string(),
                Some(Value::Number(number)) => number.to_string(),
                Some(_) => {
                    return Err(SalesforceError::InvalidRequest(format!(
                        "bulk upload: record {at} field {column} is not a scalar"
                    )))
                }
            });
        }
        writer.write_record(&row).map_err(header_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| SalesforceError::Decode(format!("upload CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn query_rows_take_the_rest_shape() {
        let body = b"\"Id\",\"Name\",\"IsActive\",\"UnitPrice\",\"Account.Name\",\"Description\"\n\
\"01t000000000001AAA\",\"Widget, \"\"large\"\"\",\"true\",\"12.5\",\"Acme\",\"line one\nline two\"\n\
\"01t000000000002AAA\",\"Plain\",\"false\",\"7\",\"\",\"\"\n";
        let types = HashMap::from([
            ("IsActive".to_owned(), BulkField::Boolean),
            ("UnitPrice".to_owned(), BulkField::Number),
        ]);
        let records = parse_query_page(body, "Product2", "/services/data/v61.0/", &types).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            Value::Object(records[0].clone()),
            json!({
                "attributes": {
                    "type": "Product2",
                    "url": "/services/data/v61.0/sobjects/Product2/01t000000000001AAA",
                },
                "Id": "01t000000000001AAA",
                "Name": "Widget, \"large\"",
                "IsActive": true,
                "UnitPrice": 12.5,
                "Account": { "Name": "Acme" },
                "Description": "line one\nline two",
            })
        );
        assert_eq!(records[1]["IsActive"], json!(false));
        assert_eq!(records[1]["UnitPrice"], json!(7));
        assert_eq!(
            records[1]["Account"],
            Value::Null,
            "an empty lookup is null"
        );
        assert_eq!(
            records[1]["Description"],
            Value::Null,
            "an empty cell is null"
        );
    }

    #[test]
    fn a_bad_typed_cell_is_a_decode_error() {
        let types = HashMap::from([("IsActive".to_owned(), BulkField::Boolean)]);
        let err = parse_query_page(b"IsActive\nmaybe\n", "Product2", "/", &types).unwrap_err();
        assert!(matches!(err, SalesforceError::Decode(_)), "{err}");
    }

    #[test]
    fn uploads_quote_values_and_send_nulls_as_na() {
        let records = [
            record(
                json!({ "attributes": { "type": "Account" }, "Id": "001A", "Name": "A, \"B\"\nC", "NetSuite_Id__c": null }),
            ),
            record(json!({ "Id": "001B", "Phone": 5, "IsActive": true })),
        ];
        let body = String::from_utf8(encode_rows(&records).unwrap()).unwrap();
        assert_eq!(
            body,
            "Id,Name,NetSuite_Id__c,IsActive,Phone\n\
001A,\"A, \"\"B\"\"\nC\",#N/A,,\n\
001B,,,true,5\n"
        );
        // What goes up comes back the same through the reader.
        let rows = parse_rows(body.as_bytes()).unwrap();
        assert_eq!(rows[0]["Name"], "A, \"B\"\nC");
        assert_eq!(rows[0]["NetSuite_Id__c"], NULL_CELL);
        assert_eq!(rows[1]["Phone"], "5");
    }

    #[test]
    fn nested_values_cannot_be_uploaded() {
        let records = [record(json!({ "Id": "001A", "Account": { "Name": "x" } }))];
        assert!(matches!(
            encode_rows(&records),
            Err(SalesforceError::InvalidRequest(_))
        ));
    }

    #[test]
    fn an_empty_result_has_no_rows() {
        assert!(parse_rows(b"").unwrap().is_empty());
        assert!(parse_rows(b"\"sf__Id\",\"sf__Error\"\n")
            .unwrap()
            .is_empty());
    }
}

//! The customer `addressBook` sublist: lines in `customeraddressbook`, each pointing at its address
//! subrecord in `customeraddressbookentityaddress` (SuiteQL's tables and join key `nkey`).
//! A write adds lines, or replaces them all when the request names the sublist in `replace=`.

use rusqlite::{Connection, Transaction};
use serde_json::{json, Map, Value};

use crate::netsuite::error::ApiError;
use crate::netsuite::schema::country_name;
use crate::netsuite::store::nonexistent_field;

/// Address subrecord fields: REST name and column.
const ADDRESS_FIELDS: &[(&str, &str)] = &[
    ("addressee", "addressee"),
    ("attention", "attention"),
    ("addr1", "addr1"),
    ("addr2", "addr2"),
    ("addr3", "addr3"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip"),
    ("country", "country"),
    ("addrPhone", "addrphone"),
];

pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE customeraddressbook (
             internalid INTEGER PRIMARY KEY, entity INTEGER NOT NULL, label TEXT,
             defaultbilling TEXT NOT NULL DEFAULT 'F', defaultshipping TEXT NOT NULL DEFAULT 'F',
             addressbookaddress INTEGER NOT NULL);
         -- Every write of an entity's address book reads and clears its lines by entity: without
         -- this index each one scans every address of the account.
         CREATE INDEX customeraddressbook_entity ON customeraddressbook (entity);
         CREATE TABLE customeraddressbookentityaddress (
             nkey INTEGER PRIMARY KEY, addressee TEXT, attention TEXT, addr1 TEXT, addr2 TEXT, addr3 TEXT,
             city TEXT, state TEXT, zip TEXT, country TEXT, addrphone TEXT);",
    )
}

pub fn delete_all(tx: &Transaction, entity: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM customeraddressbookentityaddress WHERE nkey IN
             (SELECT addressbookaddress FROM customeraddressbook WHERE entity = ?1)",
        [entity],
    )?;
    tx.execute(
        "DELETE FROM customeraddressbook WHERE entity = ?1",
        [entity],
    )?;
    Ok(())
}

/// Writes a sublist payload `{"items":[…]}` for one record.
pub fn write(
    tx: &Transaction,
    sublist: &str,
    entity: i64,
    payload: &Value,
    replace: bool,
) -> Result<(), ApiError> {
    let items = match payload.get("items") {
        Some(Value::Array(items)) => items.as_slice(),
        None if payload.is_object() => &[],
        _ => return Err(invalid(sublist, "items")),
    };
    if replace {
        delete_all(tx, entity)?;
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("{sublist}.items[{i}]");
        let item = item.as_object().ok_or_else(|| invalid(&path, "item"))?;
        let mut line = Line {
            label: None,
            default_billing: false,
            default_shipping: false,
            address: Map::new(),
        };
        for (key, value) in item {
            match (key.as_str(), value) {
                ("label", Value::String(s)) => line.label = Some(s.clone()),
                ("defaultBilling", Value::Bool(b)) => line.default_billing = *b,
                ("defaultShipping", Value::Bool(b)) => line.default_shipping = *b,
                ("addressBookAddress", Value::Object(address)) => line.address = address.clone(),
                ("links" | "id" | "internalId" | "addressBookAddress_text", _) => {}
                ("label" | "defaultBilling" | "defaultShipping" | "addressBookAddress", _) => {
                    return Err(invalid(&path, key))
                }
                _ => return Err(nonexistent_field(&format!("{path}.{key}"))),
            }
        }
        insert_line(tx, entity, &line, &path)?;
    }
    Ok(())
}

struct Line {
    label: Option<String>,
    default_billing: bool,
    default_shipping: bool,
    address: Map<String, Value>,
}

fn insert_line(tx: &Transaction, entity: i64, line: &Line, path: &str) -> Result<(), ApiError> {
    let mut values: Vec<(&str, Option<String>)> = Vec::new();
    for (key, value) in &line.address {
        if matches!(key.as_str(), "links" | "id" | "addrText") {
            continue;
        }
        let Some(column) = ADDRESS_FIELDS
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, c)| *c)
        else {
            return Err(nonexistent_field(&format!(
                "{path}.addressBookAddress.{key}"
            )));
        };
        let text = match (column, value) {
            (_, Value::Null) => None,
            ("country", Value::Object(country)) => {
                country.get("id").and_then(Value::as_str).map(str::to_owned)
            }
            ("country", Value::String(s)) => Some(s.to_uppercase()),
            (_, Value::String(s)) => Some(s.clone()),
            _ => return Err(invalid(&format!("{path}.addressBookAddress"), key)),
        };
        if column == "country" {
            if let Some(code) = &text {
                if country_name(code).is_none() {
                    return Err(ApiError::bad_request(
                        "INVALID_CONTENT",
                        format!("Error while accessing a resource. You have entered an Invalid Field Value {code} for the following field: country"),
                    )
                    .at(format!("{path}.addressBookAddress.country")));
                }
            }
        }
        values.push((column, text));
    }
    let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let sql = if columns.is_empty() {
        "INSERT INTO customeraddressbookentityaddress DEFAULT VALUES".to_owned()
    } else {
        format!(
            "INSERT INTO customeraddressbookentityaddress ({}) VALUES ({})",
            columns.join(", "),
            vec!["?"; columns.len()].join(", ")
        )
    };
    tx.execute(
        &sql,
        rusqlite::params_from_iter(values.iter().map(|(_, v)| v)),
    )?;
    let nkey = tx.last_insert_rowid();
    let flag = |b: bool| if b { "T" } else { "F" };
    if line.default_billing {
        tx.execute(
            "UPDATE customeraddressbook SET defaultbilling = 'F' WHERE entity = ?1",
            [entity],
        )?;
    }
    if line.default_shipping {
        tx.execute(
            "UPDATE customeraddressbook SET defaultshipping = 'F' WHERE entity = ?1",
            [entity],
        )?;
    }
    tx.execute(
        "INSERT INTO customeraddressbook (entity, label, defaultbilling, defaultshipping, addressbookaddress)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![entity, line.label, flag(line.default_billing), flag(line.default_shipping), nkey],
    )?;
    Ok(())
}

pub(super) fn invalid(path: &str, key: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_CONTENT",
        format!("Error while accessing a resource. Invalid value for {key}."),
    )
    .at(path.to_owned())
}

/// The sublist's lines as the record API shows them when expanded; `links` only when `self_href` is given.
pub fn read(conn: &Connection, entity: i64, self_href: Option<&str>) -> rusqlite::Result<Value> {
    let columns: Vec<&str> = ADDRESS_FIELDS.iter().map(|(_, c)| *c).collect();
    let sql = format!(
        "SELECT b.internalid, b.label, b.defaultbilling, b.defaultshipping, b.addressbookaddress, {}
         FROM customeraddressbook b JOIN customeraddressbookentityaddress a ON a.nkey = b.addressbookaddress
         WHERE b.entity = ?1 ORDER BY b.internalid",
        columns.iter().map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let items: Vec<Value> = stmt
        .query_map([entity], |row| {
            let line: i64 = row.get(0)?;
            let label: Option<String> = row.get(1)?;
            let billing: String = row.get(2)?;
            let shipping: String = row.get(3)?;
            let nkey: i64 = row.get(4)?;
            let mut address = Map::new();
            for (i, (name, _)) in ADDRESS_FIELDS.iter().enumerate() {
                if let Some(value) = row.get::<_, Option<String>>(5 + i)? {
                    let shown = if *name == "country" {
                        json!({ "id": value, "refName": country_name(&value).unwrap_or(&value) })
                    } else {
                        json!(value)
                    };
                    address.insert((*name).to_owned(), shown);
                }
            }
            let text = address_text(&address);
            let mut item = json!({
                "id": line,
                "internalId": line,
                "defaultBilling": billing == "T",
                "defaultShipping": shipping == "T",
                "addressBookAddress_text": text,
            });
            if let Some(label) = label {
                item["label"] = json!(label);
            }
            if let Some(href) = self_href {
                item["links"] = json!([{ "rel": "self", "href": format!("{href}/{line}") }]);
                address.insert(
                    "links".into(),
                    json!([{ "rel": "self", "href": format!("{href}/{line}/addressBookAddress") }]),
                );
            }
            address.insert("id".into(), json!(nkey.to_string()));
            item["addressBookAddress"] = Value::Object(address);
            Ok(item)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let count = items.len();
    let mut body = json!({ "items": items, "totalResults": count, "count": count, "hasMore": false, "offset": 0 });
    if let Some(href) = self_href {
        body["links"] = json!([{ "rel": "self", "href": href }]);
    }
    Ok(body)
}

/// NetSuite's multi-line rendering of an address.
fn address_text(address: &Map<String, Value>) -> String {
    let get = |k: &str| {
        address
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let city_line = [get("city"), get("state"), get("zip")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let country = address
        .get("country")
        .and_then(|c| c.get("refName"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    [
        get("addressee"),
        get("attention"),
        get("addr1"),
        get("addr2"),
        get("addr3"),
        city_line,
        country,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join("\n")
}

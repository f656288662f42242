//! Opening the account's database: in memory, or a SQLite file that outlives the sandbox
//! ([`crate::SandboxConfig::persist_path`]). A new database gets the schema (one table per record
//! table, shared by the record types stored in it; sublist tables; the SuiteQL views
//! `transactionline`, `previoustransactionlinelink` and `uom`) and the account's setup: subsidiaries,
//! currencies, NetSuite's standard customer statuses and price levels. An existing one is used as it is, and each id sequence continues
//! after the highest id in use. A file made by an older sandbox with a different schema is not
//! migrated: delete it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::Connection;

use super::schema::{
    Kind, Sequence, CURRENCIES, CUSTOMER_STATUSES, DATETIME_COLUMN, DATE_COLUMN, PRICE_LEVELS,
    RECORD_TYPES, SUBSIDIARIES, UOM_VIEW,
};
use super::store::Db;
use super::sublist;

/// SuiteQL's `transactionline`: a main line (`id` 0, `mainline` 'T') per transaction and one
/// line per item line. Sales lines carry negative quantities and amounts, as NetSuite posts them.
const TRANSACTION_LINE_VIEW: &str = "
CREATE VIEW transactionline AS
  SELECT t.id * 1000 AS uniquekey, 0 AS id, t.id AS \"transaction\", 0 AS linesequencenumber,
         'T' AS mainline, 'F' AS taxline, NULL AS item, NULL AS quantity, NULL AS rate,
         t.foreigntotal AS foreignamount, t.foreigntotal AS netamount, t.memo AS memo,
         t.entity AS entity, t.subsidiary AS subsidiary, t.createdfrom AS createdfrom,
         NULL AS orderline
    FROM \"transaction\" t
  UNION ALL
  SELECT t.id * 1000 + l.line, l.line, t.id, l.line, 'F', 'F', l.item,
         CASE WHEN t.type IN ('SalesOrd', 'Estimate', 'CustInvc', 'ItemShip') THEN -l.quantity ELSE l.quantity END,
         l.rate,
         CASE WHEN t.type IN ('SalesOrd', 'Estimate', 'CustInvc') THEN -l.amount ELSE l.amount END,
         CASE WHEN t.type IN ('SalesOrd', 'Estimate', 'CustInvc') THEN -l.amount ELSE l.amount END,
         l.description, t.entity, t.subsidiary, t.createdfrom, l.orderline
    FROM tranitemline l JOIN \"transaction\" t ON t.id = l.\"transaction\";";

/// SuiteQL's `previoustransactionlinelink`: a transaction created from another (`OrdBill` for an
/// invoice of a sales order, `ShipRcpt` for a fulfilment, `SaleRet` for a credit memo), and each
/// payment or credit application (`Payment`), and a sales order made from an estimate
/// (`EstOrd`, *unconfirmed*). Link type names beyond these are *unconfirmed*.
const PREVIOUS_LINK_VIEW: &str = "
CREATE VIEW previoustransactionlinelink AS
  SELECT n.createdfrom AS previousdoc, n.id AS nextdoc, p.type AS previoustype, n.type AS nexttype,
         CASE n.type WHEN 'CustInvc' THEN 'OrdBill' WHEN 'ItemShip' THEN 'ShipRcpt' WHEN 'SalesOrd' THEN 'EstOrd' ELSE 'SaleRet' END AS linktype,
         0 AS previousline, 0 AS nextline, n.foreigntotal AS foreignamount
    FROM \"transaction\" n JOIN \"transaction\" p ON p.id = n.createdfrom
  UNION ALL
  SELECT a.doc, a.\"transaction\", d.type, n.type, 'Payment', 0, a.line, a.amount
    FROM tranapplyline a JOIN \"transaction\" n ON n.id = a.\"transaction\"
    JOIN \"transaction\" d ON d.id = a.doc WHERE a.apply = 'T';";

impl Db {
    /// Opens the account's database: in memory, or the SQLite file at `path`. Returns whether it is
    /// new (the schema was just created, so nothing is in it yet).
    pub fn open(path: Option<&Path>) -> rusqlite::Result<(Self, bool)> {
        let conn = match path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        let existing = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'customer'")?
            .exists([])?;
        if !existing {
            create_schema(&conn)?;
        }
        let mut next_ids = HashMap::new();
        for record_type in RECORD_TYPES {
            let max: Option<i64> = conn.query_row(
                &format!("SELECT MAX(id) FROM \"{}\"", record_type.table),
                [],
                |r| r.get(0),
            )?;
            let sequence = record_type.sequence;
            let next = max.map_or(sequence.first_id(), |h| (h + 1).max(sequence.first_id()));
            let entry = next_ids.entry(sequence).or_insert(next);
            *entry = (*entry).max(next);
        }
        for sequence in Sequence::ALL {
            next_ids.entry(sequence).or_insert(sequence.first_id());
        }
        Ok((Self { conn, next_ids }, !existing))
    }
}

fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    // Tables with the union of the columns of the record types stored in them.
    let mut tables: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for record_type in RECORD_TYPES {
        let columns = tables.entry(record_type.table).or_default();
        let mut add = |name: &str, definition: String| {
            if !columns.iter().any(|(c, _)| c == name) {
                columns.push((name.to_owned(), definition));
            }
        };
        for (column, _) in record_type.constants {
            add(column, format!("{column} TEXT NOT NULL"));
        }
        for field in record_type.fields {
            let column = field.column;
            add(
                column,
                match field.kind {
                    Kind::Id => format!("{column} INTEGER PRIMARY KEY"),
                    Kind::Bool => format!("{column} TEXT NOT NULL DEFAULT 'F'"),
                    Kind::Ref(_) => format!("{column} INTEGER"),
                    Kind::Number => format!("{column} REAL"),
                    Kind::Date => format!("{column} {DATE_COLUMN}"),
                    Kind::DateTime => format!("{column} {DATETIME_COLUMN}"),
                    _ => format!("{column} TEXT"),
                },
            );
        }
        if record_type.is_transaction() {
            add("createdfrom", "createdfrom INTEGER".to_owned());
            add("duedate", format!("duedate {DATE_COLUMN}"));
            add(
                "foreignamountremaining",
                "foreignamountremaining REAL".to_owned(),
            );
        }
    }
    for (table, columns) in &tables {
        let definitions: Vec<&str> = columns.iter().map(|(_, d)| d.as_str()).collect();
        conn.execute(
            &format!("CREATE TABLE \"{table}\" ({})", definitions.join(", ")),
            [],
        )?;
        // External ids are unique per record type, so per discriminator in shared tables.
        let key = RECORD_TYPES
            .iter()
            .find(|t| t.table == *table)
            .and_then(|t| t.constants.first())
            .map_or("externalid".to_owned(), |(c, _)| format!("{c}, externalid"));
        conn.execute(
            &format!("CREATE UNIQUE INDEX {table}_externalid ON \"{table}\" ({key})"),
            [],
        )?;
    }
    conn.execute_batch(
        "CREATE TABLE pricelevel (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE INDEX transaction_entity ON \"transaction\" (entity);
         CREATE INDEX transaction_createdfrom ON \"transaction\" (createdfrom);",
    )?;
    sublist::create_tables(conn)?;
    conn.execute_batch(TRANSACTION_LINE_VIEW)?;
    conn.execute_batch(PREVIOUS_LINK_VIEW)?;
    conn.execute_batch(UOM_VIEW)?;
    super::accounting::create(conn)?;
    for (id, name, parent, currency) in SUBSIDIARIES {
        conn.execute(
            "INSERT INTO subsidiary (id, name, parent, currency) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, name, parent, currency],
        )?;
    }
    for (i, (id, name, symbol)) in CURRENCIES.iter().enumerate() {
        conn.execute(
            "INSERT INTO currency (id, name, symbol, isbasecurrency) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, name, symbol, if i == 0 { "T" } else { "F" }],
        )?;
    }
    for (id, stage, name) in CUSTOMER_STATUSES {
        conn.execute(
            "INSERT INTO customerstatus (id, name, stage, probability) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                id,
                name,
                stage,
                if *stage == "CUSTOMER" { 100.0 } else { 10.0 }
            ],
        )?;
    }
    for (id, name) in PRICE_LEVELS {
        conn.execute(
            "INSERT INTO pricelevel (id, name) VALUES (?1, ?2)",
            rusqlite::params![id, name],
        )?;
    }
    Ok(())
}

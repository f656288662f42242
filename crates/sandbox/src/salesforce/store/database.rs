//! Opening the org's database: in memory, or a SQLite file that outlives the sandbox
//! ([`crate::SandboxConfig::salesforce_persist_path`]). A new database gets one table per sObject
//! and one for its recycle bin, and the deleted records log. An existing one is used as it is, and
//! each key prefix's id counter continues after the highest id in use, recycle bin included, so a
//! new 18-character id never repeats an old one. A file made by an older sandbox with a different
//! schema is not migrated: delete it.
//!
//! The database opens inside a transaction that the caller commits once a new org is set up
//! (built-in users, seed), so a sandbox that fails or is killed while setting up leaves a file
//! that the next start treats as new, never a half-seeded org.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;

use super::super::clock::Clock;
use super::super::ids;
use super::super::schema::{Kind, SOBJECTS};
use super::{recycle_bin, Db};

impl Db {
    /// Opens the org's database, in memory or the SQLite file at `path`, and begins a transaction.
    /// Returns whether the database is new (its schema was just created, so nothing is in it yet).
    /// [`Db::commit`] ends the transaction; dropping the `Db` before that undoes everything.
    pub fn open(path: Option<&Path>) -> rusqlite::Result<(Self, bool)> {
        let conn = match path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let existing = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'User'")?
            .exists([])?;
        if !existing {
            create_schema(&conn)?;
        }
        let counters = last_counters(&conn)?;
        Ok((
            Self {
                conn,
                counters,
                clock: Clock::default(),
            },
            !existing,
        ))
    }

    /// Commits the transaction [`Db::open`] began.
    pub fn commit(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")
    }
}

fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    for object in SOBJECTS {
        let columns: Vec<String> = object
            .fields
            .iter()
            .map(|f| match f.kind {
                Kind::Id => format!("\"{}\" TEXT PRIMARY KEY", f.name),
                Kind::Bool => format!("\"{}\" INTEGER NOT NULL DEFAULT 0", f.name),
                Kind::Number(_) => format!("\"{}\" REAL", f.name),
                _ => format!("\"{}\" TEXT", f.name),
            })
            .collect();
        for table in [object.name.to_owned(), recycle_bin(object)] {
            conn.execute(
                &format!("CREATE TABLE \"{table}\" ({})", columns.join(", ")),
                [],
            )?;
        }
        for field in object.fields.iter().filter(|f| f.external_id) {
            let unique = if field.unique { "UNIQUE " } else { "" };
            conn.execute(
                &format!(
                    "CREATE {unique}INDEX \"{o}_{f}\" ON \"{o}\" (\"{f}\" COLLATE NOCASE)",
                    o = object.name,
                    f = field.name
                ),
                [],
            )?;
        }
    }
    conn.execute(
        "CREATE TABLE \"__Deleted\" (\"Id\" TEXT PRIMARY KEY, \"Object\" TEXT NOT NULL, \"DeletedDate\" TEXT NOT NULL)",
        [],
    )?;
    Ok(())
}

/// The highest id counter in use per key prefix, live records and recycle bin together. An
/// object's ids share their first six characters and have fixed-width base-62 digits whose
/// alphabet is in ASCII order, so the greatest id as text carries the greatest counter.
fn last_counters(conn: &Connection) -> rusqlite::Result<HashMap<&'static str, u64>> {
    let mut counters = HashMap::new();
    for object in SOBJECTS {
        let highest: Option<String> = conn.query_row(
            &format!(
                "SELECT MAX(id) FROM (SELECT MAX(\"Id\") AS id FROM \"{}\" UNION ALL SELECT MAX(\"Id\") FROM \"{}\")",
                object.name,
                recycle_bin(object)
            ),
            [],
            |row| row.get(0),
        )?;
        if let Some(counter) = highest.as_deref().and_then(ids::counter_of) {
            let last = counters.entry(object.key_prefix).or_default();
            *last = counter.max(*last);
        }
    }
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_file_left_before_its_setup_committed_opens_as_new_and_a_committed_one_does_not() {
        let path = std::env::temp_dir().join(format!(
            "isthmus-sandbox-sf-setup-{}-{}.sqlite",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ));
        let (db, fresh) = Db::open(Some(&path)).unwrap();
        assert!(fresh);
        drop(db);
        let (db, fresh) = Db::open(Some(&path)).unwrap();
        assert!(fresh, "an uncommitted schema is undone");
        db.commit().unwrap();
        drop(db);
        let (db, fresh) = Db::open(Some(&path)).unwrap();
        assert!(!fresh);
        drop(db);
        std::fs::remove_file(&path).unwrap();
    }
}

//! Schema drift an administrator causes: a field renamed or deleted, a picklist value removed.
//!
//! The schemas of both systems are static tables ([`crate::salesforce`]'s `SOBJECTS`, NetSuite's
//! `RECORD_TYPES`); a [`SchemaDrift`] is the overlay tests set on top of them, through
//! [`crate::Sandbox::sf_rename_field`], [`crate::Sandbox::sf_remove_picklist_value`] and
//! [`crate::Sandbox::ns_remove_field`]. Guarantee: the metadata APIs (Salesforce `describe`,
//! NetSuite's `metadata-catalog`) answer with the drifted schema. Not done: the data APIs
//! (records, SOQL, SuiteQL) still accept the original names and values, so drift shows in the
//! metadata a check reads, not yet as a failing write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    /// `(object, field)` → the field's new name, or `None` when it was deleted.
    renamed: BTreeMap<(String, String), Option<String>>,
    /// `(object, field, value)`: picklist values no longer offered.
    removed_values: BTreeSet<(String, String, String)>,
}

/// One system's drift; object, field and value names compared as given (case-sensitive),
/// object names case-insensitively.
#[derive(Default)]
pub struct SchemaDrift {
    state: Mutex<State>,
}

impl SchemaDrift {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Renames (`Some(new)`) or deletes (`None`) `object.field`.
    pub fn rename(&self, object: &str, field: &str, to: Option<&str>) {
        self.state().renamed.insert(
            (object.to_ascii_lowercase(), field.to_owned()),
            to.map(str::to_owned),
        );
    }

    pub fn remove_value(&self, object: &str, field: &str, value: &str) {
        self.state().removed_values.insert((
            object.to_ascii_lowercase(),
            field.to_owned(),
            value.to_owned(),
        ));
    }

    /// The name `object.field` is shown under: itself, its new name, or `None` when deleted.
    pub fn shown_name(&self, object: &str, field: &str) -> Option<String> {
        match self
            .state()
            .renamed
            .get(&(object.to_ascii_lowercase(), field.to_owned()))
        {
            Some(to) => to.clone(),
            None => Some(field.to_owned()),
        }
    }

    pub fn value_offered(&self, object: &str, field: &str, value: &str) -> bool {
        !self.state().removed_values.contains(&(
            object.to_ascii_lowercase(),
            field.to_owned(),
            value.to_owned(),
        ))
    }
}

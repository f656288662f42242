//! One need against the metadata read for it: the problems it has, each with a suggested fix.

use std::collections::BTreeMap;

use isthmus_netsuite::{FieldMetadata, RecordMetadata};
use isthmus_salesforce::{FieldDescribe, SObjectDescribe};

use super::{Metadata, Need, Problem, ProblemKind, Severity, Side};

/// What a value is, as far as mapping one field onto another goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Number,
    Boolean,
    Date,
    DateTime,
    /// A reference to another record.
    Reference,
    /// A NetSuite select list (an object with enumerated ids): takes a picklist's or text's code.
    Select,
    Other,
}

fn salesforce_class(field: &FieldDescribe) -> Class {
    match field.kind.as_str() {
        "string" | "picklist" | "multipicklist" | "combobox" | "textarea" | "url" | "phone"
        | "email" | "id" => Class::Text,
        "double" | "currency" | "percent" | "int" | "long" => Class::Number,
        "boolean" => Class::Boolean,
        "date" => Class::Date,
        "datetime" => Class::DateTime,
        "reference" => Class::Reference,
        _ => Class::Other,
    }
}

fn netsuite_class(field: &FieldMetadata) -> Class {
    match (field.kind.as_str(), field.format.as_deref()) {
        ("string", Some("date")) => Class::Date,
        ("string", Some("date-time")) => Class::DateTime,
        ("string", _) => Class::Text,
        ("number" | "integer", _) => Class::Number,
        ("boolean", _) => Class::Boolean,
        ("object", _) if !field.values.is_empty() => Class::Select,
        ("object", _) => Class::Reference,
        _ => Class::Other,
    }
}

fn compatible(salesforce: Class, netsuite: Class) -> bool {
    salesforce == netsuite || (salesforce == Class::Text && netsuite == Class::Select)
}

type Describes = BTreeMap<String, Metadata<SObjectDescribe>>;
type Records = BTreeMap<String, Metadata<RecordMetadata>>;

fn salesforce_field<'a>(
    describes: &'a Describes,
    object: &str,
    field: &str,
) -> Option<&'a FieldDescribe> {
    match describes.get(object)? {
        Metadata::Found(describe) => describe.field(field),
        Metadata::Missing => None,
    }
}

fn netsuite_field<'a>(
    records: &'a Records,
    record: &str,
    field: &str,
) -> Option<&'a FieldMetadata> {
    match records.get(record)? {
        Metadata::Found(metadata) => metadata.fields.get(field),
        Metadata::Missing => None,
    }
}

/// The problems of one need; empty when the system offers all of it.
pub(super) fn check(need: &Need, describes: &Describes, records: &Records) -> Vec<Problem> {
    let problem = |kind: ProblemKind, detail: String, fix: String| Problem {
        severity: Severity::Error,
        kind,
        side: need.side,
        object: need.object.clone(),
        field: need.field.clone(),
        value: None,
        config_key: need.config_key.clone(),
        detail,
        fix,
    };
    let (object, field) = (&need.object, &need.field);
    let missing_object = match need.side {
        Side::Salesforce => matches!(describes.get(object), Some(Metadata::Missing)),
        Side::NetSuite => matches!(records.get(object), Some(Metadata::Missing)),
    };
    if missing_object {
        return vec![problem(
            ProblemKind::ObjectMissing,
            format!("{} has no {object}", system(need.side)),
            format!(
                "deploy {object} to {}, or change {}",
                system(need.side),
                need.config_key
            ),
        )];
    }
    let mut problems = Vec::new();
    let missing_field = || {
        problem(
            ProblemKind::FieldMissing,
            format!("{object}.{field} does not exist in {}", system(need.side)),
            format!(
                "restore {object}.{field} (renamed or deleted?), or change {} to the field's current name",
                need.config_key
            ),
        )
    };
    let not_writable = || {
        problem(
            ProblemKind::NotWritable,
            format!("{object}.{field} is read-only, and the flow writes it"),
            format!(
                "make {object}.{field} editable for the integration user, or remove it from {}",
                need.config_key
            ),
        )
    };
    let value_missing = |value: &str| Problem {
        value: Some(value.to_owned()),
        ..problem(
            ProblemKind::ValueMissing,
            format!("{object}.{field} does not offer the value {value:?}"),
            format!(
                "add {value:?} to the values of {object}.{field}, or change {}",
                need.config_key
            ),
        )
    };
    match need.side {
        Side::Salesforce => {
            let Some(described) = salesforce_field(describes, object, field) else {
                return vec![missing_field()];
            };
            if need.access.writes() && !(described.createable && described.updateable) {
                problems.push(not_writable());
            }
            if need.external_id && !described.external_id {
                problems.push(problem(
                    ProblemKind::NotExternalId,
                    format!(
                        "{object}.{field} is not marked External ID, and upserts go through it"
                    ),
                    format!("tick External ID (and Unique) on {object}.{field}"),
                ));
            }
            for value in &need.values {
                if !described.offers(value) {
                    problems.push(value_missing(value));
                }
            }
            if let Some((_, record, ns_field)) = &need.mapped_to {
                if let Some(other) = netsuite_field(records, record, ns_field) {
                    let (sf, ns) = (salesforce_class(described), netsuite_class(other));
                    if !compatible(sf, ns) {
                        problems.push(problem(
                            ProblemKind::IncompatibleType,
                            format!(
                                "{object}.{field} ({}) cannot hold {record}.{ns_field} ({}{})",
                                described.kind,
                                other.kind,
                                other
                                    .format
                                    .as_deref()
                                    .map(|f| format!(", {f}"))
                                    .unwrap_or_default()
                            ),
                            format!("map {} to fields of the same type", need.config_key),
                        ));
                    }
                }
            }
        }
        Side::NetSuite => {
            let Some(metadata) = netsuite_field(records, object, field) else {
                return vec![missing_field()];
            };
            if need.access.writes() && metadata.read_only {
                problems.push(not_writable());
            }
            for value in &need.values {
                if !metadata.values.is_empty() && !metadata.values.contains(value) {
                    problems.push(value_missing(value));
                }
            }
        }
    }
    problems
}

fn system(side: Side) -> &'static str {
    match side {
        Side::Salesforce => "Salesforce",
        Side::NetSuite => "NetSuite",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_maps_onto_a_select_list_but_not_onto_a_number_or_a_date() {
        assert!(compatible(Class::Text, Class::Select));
        assert!(compatible(Class::Number, Class::Number));
        assert!(!compatible(Class::Text, Class::Number));
        assert!(!compatible(Class::Date, Class::DateTime));
    }
}

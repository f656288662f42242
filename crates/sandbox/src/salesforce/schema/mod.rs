//! The org's metadata: which sObjects exist, their fields, types and relationships. Everything else
//! (table creation, validation, SOQL resolution, describe) is driven by these tables, so adding an
//! object is adding a row to [`objects`].

mod objects;

pub use objects::{OPPORTUNITY_STAGES, SOBJECTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The record id (18-char, read-only).
    Id,
    Text,
    /// A picklist; `restricted` refuses values outside `values` (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`).
    Picklist {
        values: &'static [&'static str],
        restricted: bool,
    },
    Bool,
    /// A number stored as a SQLite REAL; the variant names the describe type.
    Number(NumberType),
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
    DateTime,
    /// A lookup to another object; `relationship` is the parent relationship name used in SOQL.
    Reference {
        target: &'static str,
        relationship: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    Currency,
    Double,
    Percent,
}

impl Kind {
    /// Compared case-insensitively, as Salesforce compares text.
    pub fn is_text(self) -> bool {
        matches!(self, Kind::Text | Kind::Picklist { .. })
    }
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub read_only: bool,
    pub external_id: bool,
    pub unique: bool,
}

#[derive(Debug)]
pub struct ChildRelationship {
    pub name: &'static str,
    pub child: &'static str,
    pub field: &'static str,
}

#[derive(Debug)]
pub struct SObject {
    pub name: &'static str,
    pub key_prefix: &'static str,
    pub fields: &'static [Field],
    pub children: &'static [ChildRelationship],
    /// Objects whose records are deleted with a parent of this object (Account deletes its Contacts).
    pub cascade_delete: &'static [(&'static str, &'static str)],
}

impl SObject {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn child(&self, relationship: &str) -> Option<&'static ChildRelationship> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(relationship))
    }

    /// The reference field behind a parent relationship name (`Account` → `AccountId`).
    pub fn parent(&self, relationship: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| match f.kind {
            Kind::Reference {
                relationship: r, ..
            } => r.eq_ignore_ascii_case(relationship),
            _ => false,
        })
    }
}

pub fn sobject(name: &str) -> Option<&'static SObject> {
    SOBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

pub const ORG_KEY_PREFIX: &str = "00D";

/// The corporate currency and the other active currencies of the multi-currency org.
pub const CURRENCIES: &[&str] = &["USD", "EUR", "GBP"];
pub const CORPORATE_CURRENCY: &str = "USD";

const fn text(name: &'static str) -> Field {
    Field {
        name,
        kind: Kind::Text,
        required: false,
        read_only: false,
        external_id: false,
        unique: false,
    }
}

const fn required(name: &'static str) -> Field {
    Field {
        required: true,
        ..text(name)
    }
}

/// An external id; `unique` when the field has the Unique attribute.
const fn external_id(name: &'static str, unique: bool) -> Field {
    Field {
        external_id: true,
        unique,
        ..text(name)
    }
}

const fn reference(name: &'static str, target: &'static str, relationship: &'static str) -> Field {
    Field {
        kind: Kind::Reference {
            target,
            relationship,
        },
        ..text(name)
    }
}

const fn system(name: &'static str, kind: Kind) -> Field {
    Field {
        kind,
        read_only: true,
        ..text(name)
    }
}

const fn number(name: &'static str, kind: NumberType) -> Field {
    Field {
        kind: Kind::Number(kind),
        ..text(name)
    }
}

const fn date(name: &'static str) -> Field {
    Field {
        kind: Kind::Date,
        ..text(name)
    }
}

const fn boolean(name: &'static str) -> Field {
    Field {
        kind: Kind::Bool,
        ..text(name)
    }
}

const fn picklist(name: &'static str, values: &'static [&'static str]) -> Field {
    Field {
        kind: Kind::Picklist {
            values,
            restricted: false,
        },
        ..text(name)
    }
}

/// `CurrencyIsoCode`: a restricted picklist of the active currencies.
const fn currency_iso_code() -> Field {
    Field {
        kind: Kind::Picklist {
            values: CURRENCIES,
            restricted: true,
        },
        ..text("CurrencyIsoCode")
    }
}

/// A field the org computes (formula, roll-up or system-derived): readable, never writable.
const fn derived(field: Field) -> Field {
    Field {
        read_only: true,
        ..field
    }
}

const fn mandatory(field: Field) -> Field {
    Field {
        required: true,
        ..field
    }
}

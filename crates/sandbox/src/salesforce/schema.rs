//! The org's metadata: which sObjects exist, their fields, types and relationships. Everything else
//! (table creation, validation, SOQL resolution) is driven by these tables, so adding an object is
//! adding a row here.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The record id (18-char, read-only).
    Id,
    Text,
    Bool,
    DateTime,
    /// A lookup to another object; `relationship` is the parent relationship name used in SOQL.
    Reference {
        target: &'static str,
        relationship: &'static str,
    },
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

macro_rules! with_system_fields {
    ($($field:expr),* $(,)?) => {
        &[
            system("Id", Kind::Id),
            $($field,)*
            system("IsDeleted", Kind::Bool),
            system("CreatedDate", Kind::DateTime),
            system("CreatedById", Kind::Reference { target: "User", relationship: "CreatedBy" }),
            system("LastModifiedDate", Kind::DateTime),
            system("LastModifiedById", Kind::Reference { target: "User", relationship: "LastModifiedBy" }),
            system("SystemModstamp", Kind::DateTime),
        ]
    };
}

pub static SOBJECTS: &[SObject] = &[
    SObject {
        name: "Account",
        key_prefix: "001",
        fields: with_system_fields![
            required("Name"),
            text("Phone"),
            text("Website"),
            text("Industry"),
            text("Type"),
            text("Description"),
            text("BillingStreet"),
            text("BillingCity"),
            text("BillingState"),
            text("BillingPostalCode"),
            text("BillingCountry"),
            text("ShippingStreet"),
            text("ShippingCity"),
            text("ShippingState"),
            text("ShippingPostalCode"),
            text("ShippingCountry"),
            external_id("NetSuite_Id__c", true),
            // A non-unique external id (as the Unique attribute is optional in Salesforce), which is
            // what lets an upsert match several records and answer 300.
            external_id("Legacy_Id__c", false),
        ],
        children: &[ChildRelationship {
            name: "Contacts",
            child: "Contact",
            field: "AccountId",
        }],
        cascade_delete: &[("Contact", "AccountId")],
    },
    SObject {
        name: "Contact",
        key_prefix: "003",
        fields: with_system_fields![
            reference("AccountId", "Account", "Account"),
            text("FirstName"),
            required("LastName"),
            text("Email"),
            text("Phone"),
            text("Title"),
            external_id("NetSuite_Id__c", true),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "User",
        key_prefix: "005",
        fields: with_system_fields![required("Name"), required("Username")],
        children: &[],
        cascade_delete: &[],
    },
];

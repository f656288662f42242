//! The account's record types, table-driven: REST field name, SQL column (SuiteQL's lower-case
//! name), kind, and which sublists a type has. Adding a record type is adding a row here (plus its
//! default `entityId` rule when it is an entity).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    Text,
    /// Stored as `'T'`/`'F'`, as SuiteQL shows booleans.
    Bool,
    /// Stored and shown as `2026-11-28T10:00:00Z`.
    DateTime,
    /// A reference to another record type, shown as `{"id","refName","links"}`.
    Ref(&'static str),
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub read_only: bool,
}

#[derive(Debug)]
pub struct RecordType {
    pub name: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
    pub sublists: &'static [&'static str],
    /// Labels of the fields a create must set (NetSuite's "Please enter value(s) for: …").
    pub required: &'static [(&'static str, &'static str)],
}

impl RecordType {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

pub fn record_type(name: &str) -> Option<&'static RecordType> {
    RECORD_TYPES
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
}

const fn text(name: &'static str, column: &'static str) -> Field {
    Field {
        name,
        column,
        kind: Kind::Text,
        read_only: false,
    }
}

const fn boolean(name: &'static str, column: &'static str) -> Field {
    Field {
        kind: Kind::Bool,
        ..text(name, column)
    }
}

const fn reference(name: &'static str, column: &'static str, target: &'static str) -> Field {
    Field {
        kind: Kind::Ref(target),
        ..text(name, column)
    }
}

const fn read_only(name: &'static str, column: &'static str, kind: Kind) -> Field {
    Field {
        name,
        column,
        kind,
        read_only: true,
    }
}

pub const ADDRESS_BOOK: &str = "addressBook";

pub static RECORD_TYPES: &[RecordType] = &[
    RecordType {
        name: "customer",
        table: "customer",
        fields: &[
            read_only("id", "id", Kind::Id),
            text("entityId", "entityid"),
            text("companyName", "companyname"),
            boolean("isPerson", "isperson"),
            text("email", "email"),
            text("phone", "phone"),
            text("url", "url"),
            reference("subsidiary", "subsidiary", "subsidiary"),
            reference("currency", "currency", "currency"),
            boolean("isInactive", "isinactive"),
            text("externalId", "externalid"),
            read_only("dateCreated", "datecreated", Kind::DateTime),
            read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
        ],
        sublists: &[ADDRESS_BOOK],
        required: &[("companyName", "Company Name")],
    },
    RecordType {
        name: "contact",
        table: "contact",
        fields: &[
            read_only("id", "id", Kind::Id),
            text("entityId", "entityid"),
            text("firstName", "firstname"),
            text("lastName", "lastname"),
            text("email", "email"),
            text("phone", "phone"),
            text("title", "title"),
            reference("company", "company", "customer"),
            reference("subsidiary", "subsidiary", "subsidiary"),
            boolean("isInactive", "isinactive"),
            text("externalId", "externalid"),
            read_only("dateCreated", "datecreated", Kind::DateTime),
            read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
        ],
        sublists: &[],
        required: &[("lastName", "Last Name")],
    },
];

/// Subsidiaries `(id, name, currency id)`: reference targets (and SuiteQL tables) the record API
/// does not serve here.
pub static SUBSIDIARIES: &[(i64, &str, i64)] = &[
    (1, "Isthmus Holdings Inc.", 1),
    (2, "Isthmus Europe B.V.", 2),
];
/// Currencies `(id, name, symbol)`.
pub static CURRENCIES: &[(i64, &str, &str)] = &[
    (1, "US Dollar", "USD"),
    (2, "Euro", "EUR"),
    (3, "British pound", "GBP"),
];

/// Countries known to address subrecords: code and NetSuite's display name.
pub static COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("BE", "Belgium"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("SE", "Sweden"),
    ("DK", "Denmark"),
    ("CH", "Switzerland"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("MX", "Mexico"),
];

pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, name)| *name)
}

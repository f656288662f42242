//! The account's record types, table-driven: REST field name, SQL column (SuiteQL's lower-case
//! name), kind, and which sublists a type has. Adding a record type is adding a row (see
//! [`entities`], [`items`], [`transactions`]).
//!
//! Several record types can share one SuiteQL table, as in NetSuite: the four item types live in
//! `item` (told apart by `itemtype`), the five transaction types in `transaction` (by `type`). A
//! type's [`RecordType::constants`] name those columns; every lookup by id is scoped by them.

mod entities;
mod items;
mod tax_units;
mod transactions;

pub use entities::{CLOSED_WON, CUSTOMER_STATUSES};
pub use items::PRICE_LEVELS;
pub use tax_units::UOM_VIEW;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    Text,
    /// Stored as `'T'`/`'F'`, as SuiteQL shows booleans.
    Bool,
    /// Stored and shown as `2026-11-28T10:00:00Z`.
    DateTime,
    /// Stored and shown as `2026-11-28`.
    Date,
    /// Stored as a real, shown as a JSON number.
    Number,
    /// A reference to another record type (or a shared table such as `item` or `transaction`),
    /// shown as `{"id","refName","links"}`.
    Ref(&'static str),
    /// A list value: stored as its code (`B`), shown and written as `{"id":"B","refName":…}`.
    Select(&'static [(&'static str, &'static str)]),
    /// A read-only status shown by name, `{"id":"Pending Billing","refName":"Pending Billing"}`,
    /// stored as its code.
    Status(&'static [(&'static str, &'static str)]),
    /// An address subrecord, stored as JSON text and shown as an object.
    Address,
}

/// The SQLite declared type of date columns: TEXT affinity (values stay `2026-11-28`, which sort
/// and compare as dates), under a name that tells SuiteQL to show them in the account's date
/// format (see `suiteql`).
pub const DATE_COLUMN: &str = "DATE_TEXT";
/// The declared type of datetime columns (`2026-11-28T10:00:00Z`), for the same reason.
pub const DATETIME_COLUMN: &str = "DATETIME_TEXT";

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub read_only: bool,
}

/// Which internal-id sequence a record type draws from (NetSuite numbers entities, items,
/// transactions and setup records independently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sequence {
    Entity,
    Item,
    Transaction,
    Setup,
}

impl Sequence {
    pub const ALL: [Sequence; 4] = [
        Sequence::Entity,
        Sequence::Item,
        Sequence::Transaction,
        Sequence::Setup,
    ];

    /// The first internal id handed out (accounts never start at 1 for entities).
    pub fn first_id(self) -> i64 {
        match self {
            Sequence::Entity => 101,
            Sequence::Item => 501,
            Sequence::Transaction => 2001,
            Sequence::Setup => 1,
        }
    }
}

#[derive(Debug)]
pub struct RecordType {
    pub name: &'static str,
    pub table: &'static str,
    /// Columns with a fixed value for this type; the first one tells apart types sharing a table.
    pub constants: &'static [(&'static str, &'static str)],
    pub sequence: Sequence,
    /// SQL expression over the type's table giving a reference's `refName`.
    pub ref_name: &'static str,
    pub fields: &'static [Field],
    pub sublists: &'static [&'static str],
    /// Labels of the fields a create must set (NetSuite's "Please enter value(s) for: …").
    pub required: &'static [(&'static str, &'static str)],
}

impl RecordType {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// `" AND type = 'SalesOrd'"` for types sharing a table, else empty: appended to a `WHERE`.
    pub fn scope(&self) -> String {
        match self.constants.first() {
            Some((column, value)) => format!(" AND {column} = '{value}'"),
            None => String::new(),
        }
    }

    /// The column holding the creation time (`datecreated` on entities, `createddate` elsewhere).
    pub fn created_column(&self) -> Option<&'static str> {
        self.fields
            .iter()
            .find(|f| f.name == "dateCreated" || f.name == "createdDate")
            .map(|f| f.column)
    }

    pub fn is_transaction(&self) -> bool {
        self.sequence == Sequence::Transaction
    }

    /// The transaction type code (`SalesOrd`, `CustInvc`, …) or item type (`InvtPart`, …).
    pub fn type_code(&self) -> Option<&'static str> {
        self.constants.first().map(|(_, code)| *code)
    }
}

pub static RECORD_TYPES: &[&RecordType] = &[
    &entities::CUSTOMER,
    &entities::CONTACT,
    &entities::SUBSIDIARY,
    &entities::CURRENCY,
    &entities::CUSTOMER_STATUS,
    &items::INVENTORY_ITEM,
    &items::NON_INVENTORY_SALE_ITEM,
    &items::SERVICE_SALE_ITEM,
    &items::KIT_ITEM,
    &transactions::SALES_ORDER,
    &transactions::ESTIMATE,
    &transactions::ITEM_FULFILLMENT,
    &transactions::INVOICE,
    &transactions::CUSTOMER_PAYMENT,
    &transactions::CREDIT_MEMO,
    &tax_units::SALES_TAX_ITEM,
    &tax_units::UNITS_TYPE,
];

pub fn record_type(name: &str) -> Option<&'static RecordType> {
    RECORD_TYPES
        .iter()
        .copied()
        .find(|t| t.name.eq_ignore_ascii_case(name))
}

/// The record type stored in a shared `table` under the discriminator value `code`.
pub fn record_type_by_code(table: &str, code: &str) -> Option<&'static RecordType> {
    RECORD_TYPES
        .iter()
        .copied()
        .find(|t| t.table == table && t.type_code() == Some(code))
}

/// Tables shared by several record types, with their discriminator column.
pub fn shared_table(name: &str) -> Option<(&'static str, &'static str)> {
    RECORD_TYPES
        .iter()
        .filter(|t| t.table.eq_ignore_ascii_case(name))
        .find_map(|t| t.constants.first().map(|(column, _)| (t.table, *column)))
}

/// A sublist stored as lines in its own table: `parent` is the owning record's id column and
/// `line` numbers the lines from 1 within a record.
#[derive(Debug)]
pub struct LineSublist {
    pub name: &'static str,
    pub table: &'static str,
    pub parent: &'static str,
    pub fields: &'static [Field],
    /// Column defaults when a line leaves the field out.
    pub defaults: &'static [(&'static str, &'static str)],
}

pub static LINE_SUBLISTS: &[&LineSublist] = &[
    &items::PRICE,
    &transactions::ITEM_LINES,
    &transactions::APPLY,
    &tax_units::UOM,
];

pub fn line_sublist(name: &str) -> Option<&'static LineSublist> {
    LINE_SUBLISTS.iter().copied().find(|s| s.name == name)
}

pub const fn text(name: &'static str, column: &'static str) -> Field {
    Field {
        name,
        column,
        kind: Kind::Text,
        read_only: false,
    }
}

pub const fn of_kind(name: &'static str, column: &'static str, kind: Kind) -> Field {
    Field {
        kind,
        ..text(name, column)
    }
}

pub const fn boolean(name: &'static str, column: &'static str) -> Field {
    of_kind(name, column, Kind::Bool)
}

pub const fn number(name: &'static str, column: &'static str) -> Field {
    of_kind(name, column, Kind::Number)
}

pub const fn reference(name: &'static str, column: &'static str, target: &'static str) -> Field {
    of_kind(name, column, Kind::Ref(target))
}

pub const fn read_only(name: &'static str, column: &'static str, kind: Kind) -> Field {
    Field {
        name,
        column,
        kind,
        read_only: true,
    }
}

pub const ADDRESS_BOOK: &str = "addressBook";

/// Subsidiaries `(id, name, parent, currency id)`: every account has them, seeded or not.
pub static SUBSIDIARIES: &[(i64, &str, Option<i64>, i64)] = &[
    (1, "Isthmus Holdings Inc.", None, 1),
    (2, "Isthmus Europe B.V.", Some(1), 2),
    (3, "Isthmus US Inc.", Some(1), 1),
    (4, "Isthmus UK Ltd", Some(1), 3),
];
/// Currencies `(id, name, ISO symbol)`; the first is the base currency.
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

/// NetSuite's display name of an ISO 3166 alpha-2 code: the names above where NetSuite's wording
/// is known, else the ISO short name; `None` for a code that is no country.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, name)| *name)
        .or_else(|| {
            (code.len() == 2)
                .then(|| celes::Country::from_alpha2(code).ok())
                .flatten()
                .map(|c| c.long_name)
        })
}

/// The display name of a list code (`B` → `Pending Fulfillment`).
pub fn list_name(values: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    values.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

//! Entities (customers, contacts) and the setup records they point at (subsidiaries, currencies).

use super::{
    boolean, number, read_only, reference, text, Kind, RecordType, Sequence, ADDRESS_BOOK,
};

pub static CUSTOMER: RecordType = RecordType {
    name: "customer",
    table: "customer",
    constants: &[],
    sequence: Sequence::Entity,
    ref_name: "TRIM(COALESCE(entityid, '') || ' ' || COALESCE(companyname, ''))",
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
        number("creditLimit", "creditlimit"),
        // Kept by the account from its transactions, never written through the record API.
        read_only("balance", "balance", Kind::Number),
        read_only("overdueBalance", "overduebalance", Kind::Number),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("dateCreated", "datecreated", Kind::DateTime),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[ADDRESS_BOOK],
    required: &[("companyName", "Company Name")],
};

pub static CONTACT: RecordType = RecordType {
    name: "contact",
    table: "contact",
    constants: &[],
    sequence: Sequence::Entity,
    ref_name: "entityid",
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
};

pub static SUBSIDIARY: RecordType = RecordType {
    name: "subsidiary",
    table: "subsidiary",
    constants: &[],
    sequence: Sequence::Setup,
    ref_name: "name",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("name", "name"),
        reference("parent", "parent", "subsidiary"),
        reference("currency", "currency", "currency"),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[],
    required: &[("name", "Name")],
};

pub static CURRENCY: RecordType = RecordType {
    name: "currency",
    table: "currency",
    constants: &[],
    sequence: Sequence::Setup,
    ref_name: "name",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("name", "name"),
        // The ISO 4217 code, as NetSuite's currency record calls it.
        text("symbol", "symbol"),
        read_only("isBaseCurrency", "isbasecurrency", Kind::Bool),
        number("exchangeRate", "exchangerate"),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[],
    required: &[("name", "Name"), ("symbol", "ISO Code")],
};

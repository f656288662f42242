//! Tax codes and units of measure: the setup records a sales transaction's lines point at.
//!
//! - `salesTaxItem` (SuiteQL `salestaxitem`): a tax code with its `rate` in percent. NetSuite
//!   keeps tax codes among the items, so they draw internal ids from the item sequence. The REST
//!   record's sample body names the code `name`, SOAP and SuiteQL `itemId`/`itemid`; this account
//!   takes `itemId` (*unconfirmed* for REST). `rate` is a number here (`8.25`); SOAP shows it as
//!   text `"8.25%"` (*unconfirmed* for REST). Tax agencies, tax types and tax groups are not
//!   modelled: a line's tax is its amount × the code's rate (see [`crate::netsuite::ledger`]).
//! - `unitsType` (SuiteQL `unitstype`) with its `uom` sublist (SuiteQL `unitstypeuom`): the units
//!   of one kind (each, box of 12, …), each with `unitName`, `abbreviation`, `conversionRate`
//!   (in base units) and `baseUnit`. Every unit has an account-wide internal id (`internalId`),
//!   which items (`saleUnit`) and transaction lines (`units`) reference; the view `uom` (the name
//!   NetSuite's analytics schema gives the table) resolves those references. A write that
//!   replaces the `uom` sublist gives its lines new internal ids (NetSuite keeps the ids of
//!   unchanged units and refuses to remove one in use: *unconfirmed*, not modelled).

use super::{boolean, number, read_only, text, Kind, LineSublist, RecordType, Sequence};

pub static SALES_TAX_ITEM: RecordType = RecordType {
    name: "salesTaxItem",
    table: "salestaxitem",
    constants: &[],
    sequence: Sequence::Item,
    ref_name: "itemid",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("itemId", "itemid"),
        text("description", "description"),
        // Percent: 8.25 is 8.25 %.
        number("rate", "rate"),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[],
    required: &[("itemId", "Tax Name"), ("rate", "Rate")],
};

pub static UNITS_TYPE: RecordType = RecordType {
    name: "unitsType",
    table: "unitstype",
    constants: &[],
    sequence: Sequence::Setup,
    ref_name: "name",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("name", "name"),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &["uom"],
    required: &[("name", "Type Name")],
};

/// Lines `{unitName, pluralName, abbreviation, pluralAbbreviation, conversionRate, baseUnit}`;
/// `internalId` is given by the account, `inUse` is shown and ignored on write.
pub static UOM: LineSublist = LineSublist {
    name: "uom",
    table: "unitstypeuom",
    parent: "unitstype",
    fields: &[
        read_only("internalId", "internalid", Kind::Id),
        text("unitName", "unitname"),
        text("pluralName", "pluralname"),
        text("abbreviation", "abbreviation"),
        text("pluralAbbreviation", "pluralabbreviation"),
        number("conversionRate", "conversionrate"),
        boolean("baseUnit", "baseunit"),
        read_only("inUse", "inuse", Kind::Bool),
    ],
    defaults: &[],
};

/// The units every reference to a unit resolves through (id, name, its units type).
pub const UOM_VIEW: &str = "
CREATE VIEW uom AS
  SELECT internalid AS id, unitname AS name, abbreviation, conversionrate, baseunit, unitstype
    FROM unitstypeuom;";

//! The four item types, sharing SuiteQL's `item` table (told apart by `itemtype`), and their
//! `price` sublist (price level × currency) stored in SuiteQL's `pricing` table.

use super::{boolean, number, read_only, reference, text, Kind, LineSublist, RecordType, Sequence};

/// Price levels `(id, name)` every account has.
pub static PRICE_LEVELS: &[(i64, &str)] = &[
    (1, "Base Price"),
    (2, "Alternate Price 1"),
    (3, "Alternate Price 2"),
    (4, "Alternate Price 3"),
    (5, "Online Price"),
];

/// Lines `{"priceLevel":{"id"},"currencyPage":{"id"},"price":12.5}` (a bare id is accepted for
/// references, and `quantity: {"value": 0}` for the first quantity tier is accepted and ignored).
pub static PRICE: LineSublist = LineSublist {
    name: "price",
    table: "pricing",
    parent: "item",
    fields: &[
        reference("priceLevel", "pricelevel", "pricelevel"),
        reference("currencyPage", "currency", "currency"),
        number("price", "unitprice"),
    ],
    defaults: &[],
};

/// What the four item types share; each adds its `itemtype` code.
const ITEM: RecordType = RecordType {
    name: "",
    table: "item",
    constants: &[],
    sequence: Sequence::Item,
    ref_name: "itemid",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("itemId", "itemid"),
        text("displayName", "displayname"),
        text("description", "description"),
        number("basePrice", "baseprice"),
        boolean("isInactive", "isinactive"),
        reference("subsidiary", "subsidiary", "subsidiary"),
        // The item's units (a `unitsType`) and the one it is sold in (a unit of that type).
        reference("unitsType", "unitstype", "unitsType"),
        reference("saleUnit", "saleunit", "uom"),
        text("externalId", "externalid"),
        read_only("createdDate", "createddate", Kind::DateTime),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &["price"],
    required: &[("itemId", "Item Name/Number")],
};

pub static INVENTORY_ITEM: RecordType = RecordType {
    name: "inventoryItem",
    constants: &[("itemtype", "InvtPart")],
    ..ITEM
};
pub static NON_INVENTORY_SALE_ITEM: RecordType = RecordType {
    name: "nonInventorySaleItem",
    constants: &[("itemtype", "NonInvtPart")],
    ..ITEM
};
pub static SERVICE_SALE_ITEM: RecordType = RecordType {
    name: "serviceSaleItem",
    constants: &[("itemtype", "Service")],
    ..ITEM
};
pub static KIT_ITEM: RecordType = RecordType {
    name: "kitItem",
    constants: &[("itemtype", "Kit")],
    ..ITEM
};

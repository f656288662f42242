//! The six transaction types, sharing SuiteQL's `transaction` table (told apart by `type`), and
//! their `item` and `apply` sublists. Totals, amounts remaining, statuses and customer balances
//! are kept by [`crate::netsuite::ledger`], never written through the record API.
//!
//! A sales order also carries the contract term (`startDate`, `endDate`), the customer's PO
//! number (`otherRefNum`, labelled "PO #") and our SDF bundle's custom body field
//! `custbody_isthmus_renewal_of`, the transaction a renewal order renews; SuiteQL names them
//! `startdate`, `enddate`, `otherrefnum` and `custbody_isthmus_renewal_of`.

use super::{
    boolean, number, of_kind, read_only, reference, text, Kind, LineSublist, RecordType, Sequence,
};

/// `salesOrder.orderStatus` (and SuiteQL `transaction.status` of a `SalesOrd`).
pub static ORDER_STATUSES: &[(&str, &str)] = &[
    ("A", "Pending Approval"),
    ("B", "Pending Fulfillment"),
    ("C", "Cancelled"),
    ("D", "Partially Fulfilled"),
    ("E", "Pending Billing/Partially Fulfilled"),
    ("F", "Pending Billing"),
    ("G", "Billed"),
    ("H", "Closed"),
];
/// `itemFulfillment.shipStatus`.
pub static SHIP_STATUSES: &[(&str, &str)] = &[("A", "Picked"), ("B", "Packed"), ("C", "Shipped")];
static INVOICE_STATUSES: &[(&str, &str)] = &[("A", "Open"), ("B", "Paid In Full")];
static PAYMENT_STATUSES: &[(&str, &str)] = &[
    ("A", "Unapproved Payment"),
    ("B", "Not Deposited"),
    ("C", "Deposited"),
];
static CREDIT_STATUSES: &[(&str, &str)] = &[("A", "Open"), ("B", "Fully Applied")];
/// `estimate.status`: Open until a sales order is made from it (Processed); Closed, Voided and
/// Expired are set in NetSuite's UI or by its expiry and kept as they are. The names are
/// NetSuite's; the one-letter codes are *unconfirmed*.
pub static ESTIMATE_STATUSES: &[(&str, &str)] = &[
    ("A", "Open"),
    ("B", "Processed"),
    ("C", "Closed"),
    ("V", "Voided"),
    ("X", "Expired"),
];

/// Item lines `{item, quantity, rate, amount, description, taxCode, units}`; `amount` defaults
/// to quantity × rate, `rate` to the item's base price, `units` to the item's sale unit.
/// `orderLine` ties a fulfilment or invoice line to the sales order line it came from. The
/// line's tax rate and amount (`taxRate1`, `tax1Amt`, the legacy-tax names) are kept by the
/// ledger from `taxCode`.
pub static ITEM_LINES: LineSublist = LineSublist {
    name: "item",
    table: "tranitemline",
    parent: "transaction",
    fields: &[
        reference("item", "item", "item"),
        number("quantity", "quantity"),
        number("rate", "rate"),
        number("amount", "amount"),
        text("description", "description"),
        number("orderLine", "orderline"),
        reference("taxCode", "taxcode", "salesTaxItem"),
        reference("units", "units", "uom"),
        read_only("taxRate1", "taxrate1", Kind::Number),
        read_only("tax1Amt", "tax1amt", Kind::Number),
    ],
    defaults: &[],
};

/// Applications of a payment or credit memo `{doc, apply, amount}` to invoices (`apply` defaults
/// to true; `amount` to what the invoice still owes).
pub static APPLY: LineSublist = LineSublist {
    name: "apply",
    table: "tranapplyline",
    parent: "transaction",
    fields: &[
        reference("doc", "doc", "transaction"),
        boolean("apply", "apply"),
        number("amount", "amount"),
    ],
    defaults: &[("apply", "'T'")],
};

const TRAN_ID: super::Field = text("tranId", "tranid");
const TRAN_DATE: super::Field = of_kind("tranDate", "trandate", Kind::Date);
const ENTITY: super::Field = reference("entity", "entity", "customer");
const CREATED_FROM: super::Field = reference("createdFrom", "createdfrom", "transaction");
const SUBSIDIARY: super::Field = reference("subsidiary", "subsidiary", "subsidiary");
const CURRENCY: super::Field = reference("currency", "currency", "currency");
const MEMO: super::Field = text("memo", "memo");
const EXTERNAL_ID: super::Field = text("externalId", "externalid");
const TOTAL: super::Field = read_only("total", "foreigntotal", Kind::Number);
/// The line amounts before tax, and the tax on them (`total` = `subtotal` + `taxTotal`).
const SUBTOTAL: super::Field = read_only("subtotal", "subtotal", Kind::Number);
const TAX_TOTAL: super::Field = read_only("taxTotal", "taxtotal", Kind::Number);
const REMAINING: super::Field =
    read_only("amountRemaining", "foreignamountremaining", Kind::Number);
const CREATED: super::Field = read_only("createdDate", "createddate", Kind::DateTime);
const MODIFIED: super::Field = read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime);
const BILLING: super::Field = of_kind("billingAddress", "billingaddress", Kind::Address);
const SHIPPING: super::Field = of_kind("shippingAddress", "shippingaddress", Kind::Address);

pub static SALES_ORDER: RecordType = RecordType {
    name: "salesOrder",
    table: "transaction",
    constants: &[("type", "SalesOrd"), ("recordtype", "salesorder")],
    sequence: Sequence::Transaction,
    ref_name: "'Sales Order #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        ENTITY,
        of_kind("orderStatus", "status", Kind::Select(ORDER_STATUSES)),
        read_only("status", "status", Kind::Status(ORDER_STATUSES)),
        // The estimate the order was made from (by the estimate → sales order transform).
        CREATED_FROM,
        SUBSIDIARY,
        CURRENCY,
        MEMO,
        EXTERNAL_ID,
        of_kind("startDate", "startdate", Kind::Date),
        of_kind("endDate", "enddate", Kind::Date),
        text("otherRefNum", "otherrefnum"),
        reference(
            "custbody_isthmus_renewal_of",
            "custbody_isthmus_renewal_of",
            "transaction",
        ),
        SUBTOTAL,
        TAX_TOTAL,
        TOTAL,
        BILLING,
        SHIPPING,
        CREATED,
        MODIFIED,
    ],
    sublists: &["item"],
    required: &[("entity", "Customer")],
};

/// An estimate (a quote to a customer or prospect): `dueDate` is its expiry ("Expires"),
/// `expectedCloseDate` and `probability` the sales forecast, `title` its name; its item lines are
/// a sales order's. The transform to a sales order copies them (see `transform`).
pub static ESTIMATE: RecordType = RecordType {
    name: "estimate",
    table: "transaction",
    constants: &[("type", "Estimate"), ("recordtype", "estimate")],
    sequence: Sequence::Transaction,
    ref_name: "'Estimate #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        of_kind("dueDate", "duedate", Kind::Date),
        of_kind("expectedCloseDate", "expectedclosedate", Kind::Date),
        ENTITY,
        read_only("status", "status", Kind::Status(ESTIMATE_STATUSES)),
        text("title", "title"),
        number("probability", "probability"),
        SUBSIDIARY,
        CURRENCY,
        MEMO,
        EXTERNAL_ID,
        text("otherRefNum", "otherrefnum"),
        SUBTOTAL,
        TAX_TOTAL,
        TOTAL,
        BILLING,
        SHIPPING,
        CREATED,
        MODIFIED,
    ],
    sublists: &["item"],
    required: &[("entity", "Customer")],
};

pub static ITEM_FULFILLMENT: RecordType = RecordType {
    name: "itemFulfillment",
    table: "transaction",
    constants: &[("type", "ItemShip"), ("recordtype", "itemfulfillment")],
    sequence: Sequence::Transaction,
    ref_name: "'Item Fulfillment #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        ENTITY,
        CREATED_FROM,
        of_kind("shipStatus", "status", Kind::Select(SHIP_STATUSES)),
        text("trackingNumbers", "trackingnumbers"),
        SUBSIDIARY,
        MEMO,
        EXTERNAL_ID,
        SHIPPING,
        CREATED,
        MODIFIED,
    ],
    sublists: &["item"],
    required: &[("createdFrom", "Created From")],
};

pub static INVOICE: RecordType = RecordType {
    name: "invoice",
    table: "transaction",
    constants: &[("type", "CustInvc"), ("recordtype", "invoice")],
    sequence: Sequence::Transaction,
    ref_name: "'Invoice #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        of_kind("dueDate", "duedate", Kind::Date),
        ENTITY,
        CREATED_FROM,
        read_only("status", "status", Kind::Status(INVOICE_STATUSES)),
        SUBSIDIARY,
        CURRENCY,
        MEMO,
        EXTERNAL_ID,
        SUBTOTAL,
        TAX_TOTAL,
        TOTAL,
        REMAINING,
        BILLING,
        CREATED,
        MODIFIED,
    ],
    sublists: &["item"],
    required: &[("entity", "Customer")],
};

pub static CUSTOMER_PAYMENT: RecordType = RecordType {
    name: "customerPayment",
    table: "transaction",
    constants: &[("type", "CustPymt"), ("recordtype", "customerpayment")],
    sequence: Sequence::Transaction,
    ref_name: "'Payment #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        reference("customer", "entity", "customer"),
        number("payment", "foreigntotal"),
        read_only("unapplied", "foreignamountremaining", Kind::Number),
        read_only("status", "status", Kind::Status(PAYMENT_STATUSES)),
        SUBSIDIARY,
        CURRENCY,
        MEMO,
        EXTERNAL_ID,
        CREATED,
        MODIFIED,
    ],
    sublists: &["apply"],
    required: &[("customer", "Customer")],
};

pub static CREDIT_MEMO: RecordType = RecordType {
    name: "creditMemo",
    table: "transaction",
    constants: &[("type", "CustCred"), ("recordtype", "creditmemo")],
    sequence: Sequence::Transaction,
    ref_name: "'Credit Memo #' || tranid",
    fields: &[
        read_only("id", "id", Kind::Id),
        TRAN_ID,
        TRAN_DATE,
        ENTITY,
        CREATED_FROM,
        read_only("status", "status", Kind::Status(CREDIT_STATUSES)),
        SUBSIDIARY,
        CURRENCY,
        MEMO,
        EXTERNAL_ID,
        SUBTOTAL,
        TAX_TOTAL,
        TOTAL,
        REMAINING,
        CREATED,
        MODIFIED,
    ],
    sublists: &["item", "apply"],
    required: &[("entity", "Customer")],
};

//! Entities (customers, contacts) and the setup records they point at (subsidiaries, currencies,
//! customer statuses).
//!
//! A customer record is a lead, a prospect or a customer, as in NetSuite: one entity whose
//! `entityStatus` names a customer status, whose own `stage` it takes. `stage` is read-only and
//! derived from the status by the store (see `netsuite::lifecycle`).

use super::{
    boolean, number, of_kind, read_only, reference, text, Kind, RecordType, Sequence, ADDRESS_BOOK,
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
        reference("entityStatus", "entitystatus", "customerstatus"),
        read_only("stage", "stage", Kind::Select(STAGES)),
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

/// The stages of the sales cycle a customer status belongs to (`CustomerStatusStage`).
pub static STAGES: &[(&str, &str)] = &[
    ("LEAD", "Lead"),
    ("PROSPECT", "Prospect"),
    ("CUSTOMER", "Customer"),
];

/// NetSuite's standard customer statuses `(internal id, stage, name)`; a status's `refName` is
/// `STAGE-Name` (`CUSTOMER-Closed Won`), as the customer record shows its `entityStatus`.
pub static CUSTOMER_STATUSES: &[(i64, &str, &str)] = &[
    (6, "LEAD", "Unqualified"),
    (7, "LEAD", "Qualified"),
    (8, "PROSPECT", "In Discussion"),
    (9, "PROSPECT", "Identified Decision Makers"),
    (10, "PROSPECT", "Proposal"),
    (11, "PROSPECT", "In Negotiation"),
    (12, "PROSPECT", "Purchasing"),
    (13, "CUSTOMER", "Closed Won"),
    (15, "CUSTOMER", "Renewal"),
    (16, "CUSTOMER", "Lost Customer"),
];

/// The status a customer created without one gets, and a lead or prospect is moved to when its
/// first sales order is created.
pub const CLOSED_WON: i64 = 13;

pub static CUSTOMER_STATUS: RecordType = RecordType {
    name: "customerstatus",
    table: "customerstatus",
    constants: &[],
    sequence: Sequence::Setup,
    ref_name: "stage || '-' || name",
    fields: &[
        read_only("id", "id", Kind::Id),
        text("name", "name"),
        of_kind("stage", "stage", Kind::Select(STAGES)),
        number("probability", "probability"),
        text("description", "description"),
        boolean("includeInLeadReports", "includeinleadreports"),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[],
    required: &[("name", "Status"), ("probability", "Probability")],
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
        of_kind(
            "globalSubscriptionStatus",
            "globalsubscriptionstatus",
            Kind::Select(GLOBAL_SUBSCRIPTION_STATUSES),
        ),
        // A custom entity checkbox for "do not call": NetSuite's contact has no standard one.
        // The name is the default of `customers.consent.netsuite_do_not_call`.
        boolean(
            "custentity_isthmus_do_not_call",
            "custentity_isthmus_do_not_call",
        ),
        boolean("isInactive", "isinactive"),
        text("externalId", "externalid"),
        read_only("dateCreated", "datecreated", Kind::DateTime),
        read_only("lastModifiedDate", "lastmodifieddate", Kind::DateTime),
    ],
    sublists: &[],
    required: &[("lastName", "Last Name")],
};

/// The Global Subscription Status of an entity (SuiteCommerce "Email Subscription Process":
/// 1 Soft Opt-In, 2 Soft Opt-Out, 3 Confirmed Opt-In, 4 Confirmed Opt-Out). A contact created
/// without one gets Soft Opt-In, as with "Unsubscribed to Marketing By Default" off (NetSuite's
/// default). NetSuite reserves the confirmed values to the recipient's own answer; whether the
/// REST record API refuses to set them is *unconfirmed*, so the sandbox accepts all four.
pub static GLOBAL_SUBSCRIPTION_STATUSES: &[(&str, &str)] = &[
    ("1", "Soft Opt-In"),
    ("2", "Soft Opt-Out"),
    ("3", "Confirmed Opt-In"),
    ("4", "Confirmed Opt-Out"),
];

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

//! The objects of the org: Account and Contact, the lead-to-cash objects (Product2, Pricebook2,
//! PricebookEntry, Opportunity, OpportunityLineItem, Order, OrderItem), the integration's custom
//! objects, and User. Key prefixes are Salesforce's; custom objects use `a00`…`a03`.
//!
//! Quote (`0Q0`) and QuoteLineItem (`0QL`) are the standard quote objects of the Object
//! Reference (API 18.0+): a quote belongs to an opportunity (`OpportunityId`, its account derived
//! as `AccountId`), `Status` is the standard picklist, `IsSyncing` is read-only and follows
//! `Opportunity.SyncedQuoteId`; `Subtotal`, `TotalPrice`, `GrandTotal` (total plus `Tax` and
//! `ShippingHandling`) and `LineItemCount` are roll-ups of the lines. Billing/shipping address
//! parts, `ContactId`, `Email` and the rest of the object are not modelled.

use super::*;

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

/// The standard opportunity stages: `(StageName, Probability, IsClosed, IsWon)`.
pub const OPPORTUNITY_STAGES: &[(&str, f64, bool, bool)] = &[
    ("Prospecting", 10.0, false, false),
    ("Qualification", 10.0, false, false),
    ("Needs Analysis", 20.0, false, false),
    ("Value Proposition", 50.0, false, false),
    ("Id. Decision Makers", 60.0, false, false),
    ("Perception Analysis", 70.0, false, false),
    ("Proposal/Price Quote", 75.0, false, false),
    ("Negotiation/Review", 90.0, false, false),
    ("Closed Won", 100.0, true, true),
    ("Closed Lost", 0.0, true, false),
];

/// The standard `Quote.Status` picklist values.
pub const QUOTE_STATUSES: &[&str] = &[
    "Draft",
    "Needs Review",
    "In Review",
    "Approved",
    "Rejected",
    "Presented",
    "Accepted",
    "Denied",
];

const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

use NumberType::{Currency, Double, Percent};

/// `OwnerId`: the owning user; defaults to the user who creates the record.
const fn owner() -> Field {
    reference("OwnerId", "User", "Owner")
}

const fn child(name: &'static str, child: &'static str, field: &'static str) -> ChildRelationship {
    ChildRelationship { name, child, field }
}

pub static SOBJECTS: &[SObject] = &[
    SObject {
        name: "Account",
        key_prefix: "001",
        fields: with_system_fields![
            required("Name"),
            text("Phone"),
            owner(),
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
            currency_iso_code(),
            external_id("NetSuite_Id__c", true),
            // A non-unique external id (as the Unique attribute is optional in Salesforce), which is
            // what lets an upsert match several records and answer 300.
            external_id("Legacy_Id__c", false),
            reference("Subsidiary__c", "Subsidiary__c", "Subsidiary__r"),
            number("Balance__c", Currency),
            number("Overdue_Balance__c", Currency),
            number("Credit_Limit__c", Currency),
            number("Days_Overdue__c", Double),
            date("Last_Payment_Date__c"),
            number("Last_Payment_Amount__c", Currency),
            text("Summary_Currency__c"),
            text("Balance_By_Currency__c"),
            // A custom checkbox an org adds to hold every contact of an account (the example of
            // `customers.privacy.legal_hold.salesforce_account_field`; not in Salesforce's schema).
            boolean("Legal_Hold__c"),
        ],
        children: &[
            child("Contacts", "Contact", "AccountId"),
            child("Opportunities", "Opportunity", "AccountId"),
            child("Orders", "Order", "AccountId"),
            child("NetSuite_Invoices__r", "NetSuite_Invoice__c", "Account__c"),
            child("NetSuite_Payments__r", "NetSuite_Payment__c", "Account__c"),
            child(
                "NetSuite_Fulfillments__r",
                "NetSuite_Fulfillment__c",
                "Account__c",
            ),
            child("NetSuite_Agings__r", "NetSuite_Aging__c", "Account__c"),
        ],
        cascade_delete: &[("Contact", "AccountId"), ("Opportunity", "AccountId")],
    },
    SObject {
        name: "Contact",
        key_prefix: "003",
        fields: with_system_fields![
            reference("AccountId", "Account", "Account"),
            text("FirstName"),
            owner(),
            required("LastName"),
            text("Email"),
            text("Phone"),
            text("Title"),
            // The standard mailing address (Contact object reference: MailingAddress's parts).
            text("MailingStreet"),
            text("MailingCity"),
            text("MailingState"),
            text("MailingPostalCode"),
            text("MailingCountry"),
            // Standard consent checkboxes (Contact object reference: Email Opt Out, Do Not
            // Call, Fax Opt Out); false unless set, as every checkbox.
            boolean("HasOptedOutOfEmail"),
            boolean("DoNotCall"),
            boolean("HasOptedOutOfFax"),
            external_id("NetSuite_Id__c", true),
            // A custom checkbox an org adds to mark a person under legal hold (the name is the
            // example of `customers.privacy.legal_hold.salesforce_contact_field`; not in Salesforce's own schema).
            boolean("Legal_Hold__c"),
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
    SObject {
        name: "Product2",
        key_prefix: "01t",
        fields: with_system_fields![
            required("Name"),
            text("ProductCode"),
            boolean("IsActive"),
            text("Description"),
            picklist(
                "Family",
                &["Hardware", "Software", "Services", "Subscription"]
            ),
            text("QuantityUnitOfMeasure"),
            external_id("NetSuite_Id__c", true),
        ],
        children: &[child("PricebookEntries", "PricebookEntry", "Product2Id")],
        cascade_delete: &[("PricebookEntry", "Product2Id")],
    },
    SObject {
        name: "Pricebook2",
        key_prefix: "01s",
        fields: with_system_fields![
            required("Name"),
            boolean("IsActive"),
            derived(boolean("IsStandard")),
            text("Description"),
        ],
        children: &[child("PricebookEntries", "PricebookEntry", "Pricebook2Id")],
        cascade_delete: &[("PricebookEntry", "Pricebook2Id")],
    },
    SObject {
        name: "PricebookEntry",
        key_prefix: "01u",
        fields: with_system_fields![
            mandatory(reference("Pricebook2Id", "Pricebook2", "Pricebook2")),
            mandatory(reference("Product2Id", "Product2", "Product2")),
            mandatory(number("UnitPrice", Currency)),
            boolean("IsActive"),
            boolean("UseStandardPrice"),
            currency_iso_code(),
            derived(text("Name")),
            derived(text("ProductCode")),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "Opportunity",
        key_prefix: "006",
        fields: with_system_fields![
            reference("AccountId", "Account", "Account"),
            required("Name"),
            mandatory(picklist("StageName", STAGE_NAMES)),
            owner(),
            mandatory(date("CloseDate")),
            number("Amount", Currency),
            number("Probability", Percent),
            derived(boolean("IsWon")),
            derived(boolean("IsClosed")),
            reference("Pricebook2Id", "Pricebook2", "Pricebook2"),
            currency_iso_code(),
            text("Description"),
            text("Type"),
            external_id("NetSuite_Id__c", true),
            text("NetSuite_Order_Number__c"),
            text("NetSuite_Order_Status__c"),
            text("NetSuite_Billing_Status__c"),
            // The orders flows: which opportunities go to NetSuite, what came back from shipping,
            // the customer's PO number, and renewals (the opportunity renewed, and the NetSuite
            // sales order a renewal was raised for, an external id to upsert by).
            boolean("Sync_To_NetSuite__c"),
            text("NetSuite_Ship_Status__c"),
            date("NetSuite_Ship_Date__c"),
            text("NetSuite_Tracking_Numbers__c"),
            text("Purchase_Order__c"),
            reference("Renewal_Of__c", "Opportunity", "Renewal_Of__r"),
            external_id("NetSuite_Renewal_Of__c", true),
            // NetSuite's tax total and total of the order (orders.tax).
            number("NetSuite_Tax__c", Currency),
            number("NetSuite_Total__c", Currency),
            // The quote whose lines the opportunity's products follow (one at a time).
            reference("SyncedQuoteId", "Quote", "SyncedQuote"),
        ],
        children: &[
            child("Quotes", "Quote", "OpportunityId"),
            child(
                "OpportunityLineItems",
                "OpportunityLineItem",
                "OpportunityId",
            ),
            child(
                "NetSuite_Invoices__r",
                "NetSuite_Invoice__c",
                "Opportunity__c",
            ),
            child(
                "NetSuite_Payments__r",
                "NetSuite_Payment__c",
                "Opportunity__c",
            ),
            child(
                "NetSuite_Fulfillments__r",
                "NetSuite_Fulfillment__c",
                "Opportunity__c",
            ),
        ],
        cascade_delete: &[
            ("OpportunityLineItem", "OpportunityId"),
            ("Quote", "OpportunityId"),
        ],
    },
    SObject {
        name: "OpportunityLineItem",
        key_prefix: "00k",
        fields: with_system_fields![
            mandatory(reference("OpportunityId", "Opportunity", "Opportunity")),
            mandatory(reference(
                "PricebookEntryId",
                "PricebookEntry",
                "PricebookEntry"
            )),
            derived(reference("Product2Id", "Product2", "Product2")),
            mandatory(number("Quantity", Double)),
            // Exactly one of UnitPrice and TotalPrice is given on insert (see `rules`).
            number("UnitPrice", Currency),
            derived(number("ListPrice", Currency)),
            number("TotalPrice", Currency),
            number("Discount", Percent),
            date("ServiceDate"),
            text("Description"),
            derived(text("Name")),
            derived(text("CurrencyIsoCode")),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "Quote",
        key_prefix: "0Q0",
        fields: with_system_fields![
            required("Name"),
            mandatory(reference("OpportunityId", "Opportunity", "Opportunity")),
            derived(reference("AccountId", "Account", "Account")),
            picklist("Status", QUOTE_STATUSES),
            derived(text("QuoteNumber")),
            derived(boolean("IsSyncing")),
            reference("Pricebook2Id", "Pricebook2", "Pricebook2"),
            date("ExpirationDate"),
            text("Description"),
            number("Tax", Currency),
            number("ShippingHandling", Currency),
            derived(number("Subtotal", Currency)),
            derived(number("TotalPrice", Currency)),
            derived(number("GrandTotal", Currency)),
            derived(number("LineItemCount", Double)),
            currency_iso_code(),
            // The package's fields: the NetSuite estimate the quote became, and its status.
            external_id("NetSuite_Id__c", true),
            text("NetSuite_Status__c"),
        ],
        children: &[child("QuoteLineItems", "QuoteLineItem", "QuoteId")],
        cascade_delete: &[("QuoteLineItem", "QuoteId")],
    },
    SObject {
        name: "QuoteLineItem",
        key_prefix: "0QL",
        fields: with_system_fields![
            mandatory(reference("QuoteId", "Quote", "Quote")),
            mandatory(reference(
                "PricebookEntryId",
                "PricebookEntry",
                "PricebookEntry"
            )),
            derived(reference("Product2Id", "Product2", "Product2")),
            mandatory(number("Quantity", Double)),
            mandatory(number("UnitPrice", Currency)),
            derived(number("ListPrice", Currency)),
            number("Discount", Percent),
            derived(number("Subtotal", Currency)),
            derived(number("TotalPrice", Currency)),
            derived(text("LineNumber")),
            date("ServiceDate"),
            text("Description"),
            derived(text("CurrencyIsoCode")),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "Order",
        key_prefix: "801",
        fields: with_system_fields![
            mandatory(reference("AccountId", "Account", "Account")),
            reference("OpportunityId", "Opportunity", "Opportunity"),
            owner(),
            reference("Pricebook2Id", "Pricebook2", "Pricebook2"),
            mandatory(date("EffectiveDate")),
            mandatory(picklist("Status", &["Draft", "Activated"])),
            text("OrderNumber"),
            derived(number("TotalAmount", Currency)),
            currency_iso_code(),
            external_id("NetSuite_Id__c", true),
        ],
        children: &[child("OrderItems", "OrderItem", "OrderId")],
        cascade_delete: &[("OrderItem", "OrderId")],
    },
    SObject {
        name: "OrderItem",
        key_prefix: "802",
        fields: with_system_fields![
            mandatory(reference("OrderId", "Order", "Order")),
            mandatory(reference(
                "PricebookEntryId",
                "PricebookEntry",
                "PricebookEntry"
            )),
            derived(reference("Product2Id", "Product2", "Product2")),
            mandatory(number("Quantity", Double)),
            mandatory(number("UnitPrice", Currency)),
            derived(number("TotalPrice", Currency)),
            date("ServiceDate"),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "Subsidiary__c",
        key_prefix: "a00",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Id__c", true),
            reference("Parent__c", "Subsidiary__c", "Parent__r"),
            text("Country__c"),
            currency_iso_code(),
            boolean("Is_Inactive__c"),
        ],
        children: &[
            child("Accounts__r", "Account", "Subsidiary__c"),
            child(
                "NetSuite_GL_Balances__r",
                "NetSuite_GL_Balance__c",
                "Subsidiary__c",
            ),
        ],
        cascade_delete: &[],
    },
    SObject {
        name: "NetSuite_Invoice__c",
        key_prefix: "a01",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Id__c", true),
            reference("Account__c", "Account", "Account__r"),
            reference("Opportunity__c", "Opportunity", "Opportunity__r"),
            date("Invoice_Date__c"),
            date("Due_Date__c"),
            text("Status__c"),
            number("Total__c", Currency),
            number("Amount_Remaining__c", Currency),
            currency_iso_code(),
        ],
        children: &[child(
            "NetSuite_Payments__r",
            "NetSuite_Payment__c",
            "Invoice__c",
        )],
        cascade_delete: &[],
    },
    SObject {
        name: "NetSuite_Payment__c",
        key_prefix: "a02",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Id__c", true),
            reference("Account__c", "Account", "Account__r"),
            reference("Opportunity__c", "Opportunity", "Opportunity__r"),
            reference("Invoice__c", "NetSuite_Invoice__c", "Invoice__r"),
            date("Payment_Date__c"),
            number("Amount__c", Currency),
            text("Payment_Method__c"),
            text("Status__c"),
            currency_iso_code(),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "NetSuite_Fulfillment__c",
        key_prefix: "a03",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Id__c", true),
            reference("Account__c", "Account", "Account__r"),
            reference("Opportunity__c", "Opportunity", "Opportunity__r"),
            date("Ship_Date__c"),
            text("Ship_Status__c"),
            text("Carrier__c"),
            text("Tracking_Numbers__c"),
        ],
        children: &[],
        cascade_delete: &[],
    },
    // The financial reporting objects (salesforce/force-app/.../NetSuite_Aging__c and
    // NetSuite_GL_Balance__c): rows keyed by `NetSuite_Key__c`.
    SObject {
        name: "NetSuite_Aging__c",
        key_prefix: "a0A",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Key__c", true),
            reference("Account__c", "Account", "Account__r"),
            text("Currency__c"),
            number("Current__c", Currency),
            number("Days_1_30__c", Currency),
            number("Days_31_60__c", Currency),
            number("Days_61_90__c", Currency),
            number("Days_90_Plus__c", Currency),
            number("Total__c", Currency),
            date("As_Of__c"),
            currency_iso_code(),
        ],
        children: &[],
        cascade_delete: &[],
    },
    SObject {
        name: "NetSuite_GL_Balance__c",
        key_prefix: "a0B",
        fields: with_system_fields![
            required("Name"),
            owner(),
            external_id("NetSuite_Key__c", true),
            text("Period__c"),
            date("Period_Start__c"),
            date("Period_End__c"),
            text("Account_Number__c"),
            text("Account_Name__c"),
            text("Subsidiary_Id__c"),
            reference("Subsidiary__c", "Subsidiary__c", "Subsidiary__r"),
            text("Currency__c"),
            number("Debit__c", Currency),
            number("Credit__c", Currency),
            number("Amount__c", Currency),
            number("Closing_Balance__c", Currency),
            currency_iso_code(),
        ],
        children: &[],
        cascade_delete: &[],
    },
];

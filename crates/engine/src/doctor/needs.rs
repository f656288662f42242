//! What the configured flows need of each system, enumerated from the loaded configuration:
//! every mapped field (with the direction the flow writes it), every value a value map sends, and
//! every external-id field an upsert or a lookup goes through. Nothing here calls a vendor.

use super::{Access, Side};
use crate::config::{Config, Ownership, WonRule};
use crate::finance::{AGING_SOBJECT, GL_SOBJECT, REPORT_KEY_FIELD};

/// One field a flow depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub side: Side,
    /// Salesforce object or NetSuite record type.
    pub object: String,
    pub field: String,
    pub access: Access,
    /// Values a value map sends to this field: each must be offered (picklist or select list).
    pub values: Vec<String>,
    /// The field is the key of an upsert or lookup: it must be marked external id.
    pub external_id: bool,
    /// The other side of a field mapping: its type must be compatible with this one.
    pub mapped_to: Option<(Side, String, String)>,
    /// The configuration key (or built-in flow) that needs the field.
    pub config_key: String,
}

impl Need {
    fn new(side: Side, object: &str, field: &str, access: Access, key: impl Into<String>) -> Self {
        Self {
            side,
            object: object.to_owned(),
            field: field.to_owned(),
            access,
            values: Vec::new(),
            external_id: false,
            mapped_to: None,
            config_key: key.into(),
        }
    }

    fn external_id(mut self) -> Self {
        self.external_id = true;
        self
    }

    fn values(mut self, values: Vec<String>) -> Self {
        self.values = values;
        self
    }

    fn mapped_to(mut self, side: Side, object: &str, field: &str) -> Self {
        self.mapped_to = Some((side, object.to_owned(), field.to_owned()));
        self
    }
}

/// Every need of the configured flows, in a stable order (customers, catalog, orders).
pub fn needs(config: &Config) -> Vec<Need> {
    use Access::{Read, ReadWrite, Write};
    use Side::{NetSuite, Salesforce};
    let mut out = Vec::new();

    // Account ⇄ customer: both flows write a field unless the other side owns it.
    for (key, pair) in &config.customers.fields {
        let owner = config.customers.ownership_of(key);
        let sf = if owner == Ownership::Salesforce {
            Read
        } else {
            ReadWrite
        };
        let ns = if owner == Ownership::Netsuite {
            Read
        } else {
            ReadWrite
        };
        let config_key = format!("customers.fields.{key}");
        out.push(
            Need::new(Salesforce, "Account", &pair.salesforce, sf, &config_key).mapped_to(
                NetSuite,
                "customer",
                &pair.netsuite,
            ),
        );
        out.push(
            Need::new(NetSuite, "customer", &pair.netsuite, ns, &config_key).mapped_to(
                Salesforce,
                "Account",
                &pair.salesforce,
            ),
        );
    }
    let flow = "customers (built-in)";
    for object in ["Account", "Contact"] {
        out.push(Need::new(Salesforce, object, "NetSuite_Id__c", ReadWrite, flow).external_id());
    }
    for record in ["customer", "contact"] {
        out.push(Need::new(NetSuite, record, "externalId", Write, flow));
    }
    // Contact consent (`customers.consent`): written both ways unless the other side owns it.
    let consent = &config.customers.consent;
    let access = |unit: &str, side: Side| match (config.customers.ownership_of(unit), side) {
        (Ownership::Salesforce, Salesforce) | (Ownership::Netsuite, NetSuite) => Read,
        _ => ReadWrite,
    };
    let email = crate::config::EMAIL_OPT_OUT;
    let key = "customers.consent";
    out.push(Need::new(
        Salesforce,
        "Contact",
        "HasOptedOutOfEmail",
        access(email, Salesforce),
        key,
    ));
    out.push(Need::new(
        NetSuite,
        "contact",
        "globalSubscriptionStatus",
        access(email, NetSuite),
        key,
    ));
    let mut checkboxes = Vec::new();
    if !consent.netsuite_do_not_call.is_empty() {
        let dnc = crate::config::DO_NOT_CALL;
        let ns = consent.netsuite_do_not_call.as_str();
        checkboxes.push((
            dnc,
            "DoNotCall",
            ns,
            "customers.consent.netsuite_do_not_call".to_owned(),
        ));
    }
    for (unit, pair) in &consent.fields {
        let config_key = format!("customers.consent.fields.{unit}");
        checkboxes.push((
            unit.as_str(),
            pair.salesforce.as_str(),
            pair.netsuite.as_str(),
            config_key,
        ));
    }
    for (unit, sf, ns, config_key) in checkboxes {
        out.push(
            Need::new(
                Salesforce,
                "Contact",
                sf,
                access(unit, Salesforce),
                &config_key,
            )
            .mapped_to(NetSuite, "contact", ns),
        );
        out.push(
            Need::new(NetSuite, "contact", ns, access(unit, NetSuite), &config_key)
                .mapped_to(Salesforce, "Contact", sf),
        );
    }

    // Erasure's legal holds (`customers.privacy.legal_hold`): checkboxes it reads.
    let hold = &config.customers.privacy.legal_hold;
    for (object, field, key) in [
        (
            "Contact",
            &hold.salesforce_contact_field,
            "salesforce_contact_field",
        ),
        (
            "Account",
            &hold.salesforce_account_field,
            "salesforce_account_field",
        ),
    ] {
        if !field.is_empty() {
            let config_key = format!("customers.privacy.legal_hold.{key}");
            out.push(Need::new(Salesforce, object, field, Read, config_key));
        }
    }

    // Items → Product2: the family value map and the upsert key.
    let mut families: Vec<String> = config.catalog.families.values().cloned().collect();
    families.sort();
    families.dedup();
    out.push(
        Need::new(Salesforce, "Product2", "Family", Write, "catalog.families").values(families),
    );
    out.push(
        Need::new(
            Salesforce,
            "Product2",
            "NetSuite_Id__c",
            Write,
            "catalog (built-in)",
        )
        .external_id(),
    );

    // Opportunity → sales order: the won rule, the mapped body fields, ids and status back.
    match config.orders.won_rule {
        WonRule::IsWon => out.push(Need::new(
            Salesforce,
            "Opportunity",
            "IsWon",
            Read,
            "orders.won_rule",
        )),
        WonRule::Stage => out.push(
            Need::new(
                Salesforce,
                "Opportunity",
                "StageName",
                Read,
                "orders.won_stages",
            )
            .values(config.orders.won_stages.clone()),
        ),
        WonRule::Checkbox => out.push(Need::new(
            Salesforce,
            "Opportunity",
            &config.orders.won_checkbox,
            Read,
            "orders.won_checkbox",
        )),
    }
    for (sf, ns) in &config.orders.fields {
        let key = format!("orders.fields.{sf}");
        out.push(
            Need::new(Salesforce, "Opportunity", sf, Read, &key).mapped_to(
                NetSuite,
                "salesOrder",
                ns,
            ),
        );
        out.push(
            Need::new(NetSuite, "salesOrder", ns, Write, &key).mapped_to(
                Salesforce,
                "Opportunity",
                sf,
            ),
        );
    }
    if config.orders.tax.enabled() {
        for field in ["NetSuite_Tax__c", "NetSuite_Total__c"] {
            out.push(Need::new(
                Salesforce,
                "Opportunity",
                field,
                Write,
                "orders.tax",
            ));
        }
        out.push(Need::new(
            Salesforce,
            "Product2",
            "ProductCode",
            Read,
            "orders.tax",
        ));
    }
    if config.orders.units.enabled {
        let field = "QuantityUnitOfMeasure";
        out.push(Need::new(
            Salesforce,
            "Product2",
            field,
            Read,
            "orders.units",
        ));
    }
    if !config.orders.order_status.is_empty() {
        out.push(
            Need::new(
                NetSuite,
                "salesOrder",
                "orderStatus",
                Write,
                "orders.order_status",
            )
            .values(vec![config.orders.order_status.clone()]),
        );
    }
    let flow = "orders (built-in)";
    out.push(Need::new(Salesforce, "Opportunity", "NetSuite_Id__c", Write, flow).external_id());
    for field in ["NetSuite_Order_Number__c", "NetSuite_Order_Status__c"] {
        out.push(Need::new(Salesforce, "Opportunity", field, Write, flow));
    }
    out.push(Need::new(NetSuite, "salesOrder", "externalId", Write, flow));

    // Quote → estimate, and the won opportunity's order from its synced quote's estimate.
    if config.orders.orders_from_quotes {
        let key = "orders.orders_from_quotes";
        out.push(Need::new(
            Salesforce,
            "Opportunity",
            "SyncedQuoteId",
            Read,
            key,
        ));
        out.push(Need::new(Salesforce, "Quote", "NetSuite_Id__c", Write, key).external_id());
        out.push(Need::new(
            Salesforce,
            "Quote",
            "NetSuite_Status__c",
            Write,
            key,
        ));
        out.push(Need::new(NetSuite, "estimate", "externalId", Write, key));
    }

    // The report objects the finance schedules fill, each row upserted by its key.
    let reports: [(&str, &str, &str, &[&str]); 2] = [
        (
            &config.schedules.aging,
            "schedules.aging",
            AGING_SOBJECT,
            &[
                "Account__c",
                "Currency__c",
                "Current__c",
                "Days_1_30__c",
                "Days_31_60__c",
                "Days_61_90__c",
                "Days_90_Plus__c",
                "Total__c",
                "As_Of__c",
            ],
        ),
        (
            &config.schedules.gl_balances,
            "schedules.gl_balances",
            GL_SOBJECT,
            &[
                "Period__c",
                "Period_Start__c",
                "Period_End__c",
                "Account_Number__c",
                "Account_Name__c",
                "Subsidiary_Id__c",
                "Debit__c",
                "Credit__c",
                "Amount__c",
                "Closing_Balance__c",
            ],
        ),
    ];
    for (schedule, key, object, fields) in reports {
        if schedule.is_empty() {
            continue;
        }
        out.push(Need::new(Salesforce, object, REPORT_KEY_FIELD, Write, key).external_id());
        for field in fields {
            out.push(Need::new(Salesforce, object, field, Write, key));
        }
    }
    out
}

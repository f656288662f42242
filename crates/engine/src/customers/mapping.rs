//! Declarative mapping between the two records and [`CustomerDoc`]: Salesforce Account
//! (+Contacts) and NetSuite customer (+contacts, address book). Scalar fields come from
//! `customers.fields` in the config; addresses and contacts have fixed shapes on both sides.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::doc::{clean, Address, ContactDoc, CustomerDoc};
use crate::config::CustomersConfig;

pub mod consent;
mod units;

pub use units::{unit_fields, without_units};

pub type Record = Map<String, Value>;

/// Salesforce address parts, in canonical order, for a prefix ("Billing" or "Shipping").
const SF_ADDRESS_PARTS: [&str; 5] = ["Street", "City", "State", "PostalCode", "Country"];
pub const SF_CONTACT_FIELDS: [&str; 7] = [
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Title",
    "NetSuite_Id__c",
];

/// A text value of a record field: strings as they are, numbers and booleans printed, a
/// reference (`{"id": …}`) as its id.
pub fn text(record: &Record, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) => clean(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn opt(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

/// Maps a country as people type it to the ISO 3166 alpha-2 code NetSuite expects: first the
/// configured `customers.countries` names, then any two-letter code, then ISO 3166 names, alpha-3
/// codes and common aliases ("Portugal", "PRT", "Great Britain"). `Err` carries the value when
/// it names no country.
pub fn country_code(config: &CustomersConfig, value: &str) -> Result<String, String> {
    if let Some(code) = config.countries.get(&value.to_lowercase()) {
        return Ok(code.clone());
    }
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(value.to_ascii_uppercase());
    }
    let squeezed: String = value.chars().filter(|c| c.is_alphanumeric()).collect();
    squeezed
        .parse::<celes::Country>()
        .map(|c| c.alpha2.to_string())
        .map_err(|_| value.to_string())
}

/// The Contact fields a sync reads: [`SF_CONTACT_FIELDS`] and the consent checkboxes.
pub fn sf_contact_fields(config: &CustomersConfig) -> Vec<String> {
    let mut fields: Vec<String> = SF_CONTACT_FIELDS.iter().map(|f| f.to_string()).collect();
    fields.extend(consent::sf_fields(config));
    fields
}

/// The SuiteQL columns of `contact` a sync reads: [`NS_CONTACT_COLUMNS`] and consent's.
pub fn ns_contact_columns(config: &CustomersConfig) -> String {
    let mut columns = NS_CONTACT_COLUMNS.to_string();
    for column in consent::ns_columns(config) {
        columns.push_str(", ");
        columns.push_str(&column);
    }
    columns
}

/// The Account fields a sync reads (scalar mapping, addresses, link fields).
pub fn account_fields(config: &CustomersConfig) -> Vec<String> {
    let mut fields = vec![
        "Id".to_string(),
        "NetSuite_Id__c".into(),
        "SystemModstamp".into(),
        "Subsidiary__c".into(),
    ];
    fields.extend(config.fields.values().map(|p| p.salesforce.clone()));
    for prefix in ["Billing", "Shipping"] {
        fields.extend(SF_ADDRESS_PARTS.iter().map(|p| format!("{prefix}{p}")));
    }
    let mut seen = std::collections::HashSet::new();
    fields.retain(|f| seen.insert(f.clone()));
    fields
}

pub fn from_account(config: &CustomersConfig, account: &Record) -> CustomerDoc {
    let fields = config
        .fields
        .iter()
        .map(|(name, pair)| (name.clone(), text(account, &pair.salesforce)))
        .collect();
    let mut warnings = Vec::new();
    let mut address = |prefix: &str| {
        let part = |p: &str| text(account, &format!("{prefix}{p}"));
        let country = part("Country").and_then(|raw| match country_code(config, &raw) {
            Ok(code) => Some(code),
            Err(raw) => {
                warnings.push(format!(
                    "{prefix}Country '{}' names no known country; the address goes without one",
                    raw.escape_debug()
                ));
                None
            }
        });
        Address {
            street: part("Street").map(|s| normalise_street(&s)),
            city: part("City"),
            state: part("State"),
            postal_code: part("PostalCode"),
            country,
        }
        .non_empty()
    };
    let (billing, shipping) = (address("Billing"), address("Shipping"));
    let contacts = account
        .get("Contacts")
        .and_then(|c| c.get("records"))
        .and_then(Value::as_array)
        .map(|records| {
            records
                .iter()
                .filter_map(Value::as_object)
                .map(|c| from_sf_contact(config, c))
                .collect()
        })
        .unwrap_or_default();
    CustomerDoc {
        fields,
        billing,
        shipping,
        contacts,
        warnings,
    }
    .normalise()
}

pub fn from_sf_contact(config: &CustomersConfig, contact: &Record) -> ContactDoc {
    ContactDoc {
        consent: consent::from_salesforce(config, contact),
        subscription_status: None,
        salesforce_id: text(contact, "Id"),
        netsuite_id: text(contact, "NetSuite_Id__c"),
        first_name: text(contact, "FirstName"),
        last_name: text(contact, "LastName"),
        email: text(contact, "Email").map(|e| e.to_lowercase()),
        phone: text(contact, "Phone"),
        title: text(contact, "Title"),
    }
}

/// A NetSuite customer read with `expandSubResources=true`, and its contacts from SuiteQL.
pub fn from_customer(
    config: &CustomersConfig,
    customer: &Record,
    contacts: &[Record],
) -> CustomerDoc {
    let fields = config
        .fields
        .iter()
        .map(|(name, pair)| (name.clone(), text(customer, &pair.netsuite)))
        .collect();
    let mut billing = None;
    let mut shipping = None;
    let items = customer
        .get("addressBook")
        .and_then(|a| a.get("items"))
        .and_then(Value::as_array);
    for item in items.into_iter().flatten().filter_map(Value::as_object) {
        let address = item
            .get("addressBookAddress")
            .and_then(Value::as_object)
            .map(from_ns_address);
        let flag = |k: &str| item.get(k).and_then(Value::as_bool).unwrap_or(false);
        if flag("defaultBilling") && billing.is_none() {
            billing = address.clone().and_then(Address::non_empty);
        }
        if flag("defaultShipping") && shipping.is_none() {
            shipping = address.and_then(Address::non_empty);
        }
    }
    CustomerDoc {
        fields,
        billing,
        shipping,
        contacts: contacts
            .iter()
            .map(|row| from_ns_contact_row(config, row))
            .collect(),
        warnings: Vec::new(),
    }
    .normalise()
}

/// Street lines as NetSuite can hold them: the first line, then the rest joined with ", "
/// (NetSuite has `addr1` and `addr2`), so a street round-trips unchanged.
pub fn normalise_street(street: &str) -> String {
    let lines: Vec<&str> = street
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.split_first() {
        Some((first, [])) => first.to_string(),
        Some((first, rest)) => format!("{first}\n{}", rest.join(", ")),
        None => String::new(),
    }
}

fn from_ns_address(a: &Record) -> Address {
    let street = match (text(a, "addr1"), text(a, "addr2")) {
        (Some(one), Some(two)) => Some(format!("{one}\n{two}")),
        (one, None) => one,
        (None, two) => two,
    };
    Address {
        street,
        city: text(a, "city"),
        state: text(a, "state"),
        postal_code: text(a, "zip"),
        country: text(a, "country").map(|c| c.to_ascii_uppercase()),
    }
}

/// The SuiteQL columns read for a customer's contacts.
pub const NS_CONTACT_COLUMNS: &str = "id, firstname, lastname, email, phone, title, externalid";

/// A row of `SELECT id, firstname, lastname, email, phone, title, externalid FROM contact`.
pub fn from_ns_contact_row(config: &CustomersConfig, row: &Record) -> ContactDoc {
    let external = text(row, "externalid");
    let (consent, subscription_status) = consent::from_netsuite(config, row);
    ContactDoc {
        consent,
        subscription_status,
        // Contacts Isthmus created carry the Salesforce contact id as their externalId.
        salesforce_id: external.filter(|e| e.starts_with("003")),
        netsuite_id: text(row, "id"),
        first_name: text(row, "firstname"),
        last_name: text(row, "lastname"),
        email: text(row, "email").map(|e| e.to_lowercase()),
        phone: text(row, "phone"),
        title: text(row, "title"),
    }
}

/// The NetSuite customer body for `doc` (scalar fields and the whole address book).
pub fn customer_body(config: &CustomersConfig, doc: &CustomerDoc) -> Record {
    let mut body = Map::new();
    for (name, pair) in &config.fields {
        body.insert(
            pair.netsuite.clone(),
            opt(doc.fields.get(name).unwrap_or(&None)),
        );
    }
    body.insert("isPerson".into(), Value::Bool(false));
    let mut items = Vec::new();
    match (&doc.billing, &doc.shipping) {
        (Some(b), Some(s)) if b == s => items.push(ns_address_item(b, true, true)),
        (b, s) => {
            items.extend(b.iter().map(|a| ns_address_item(a, true, false)));
            items.extend(s.iter().map(|a| ns_address_item(a, false, true)));
        }
    }
    body.insert("addressBook".into(), json!({ "items": items }));
    body
}

/// An address as NetSuite's address subrecord (`addr1`, `addr2`, `city`, `state`, `zip`,
/// `country`): a customer's address book line, a transaction's billing or shipping address.
pub fn ns_address(a: &Address) -> Value {
    let mut lines = a.street.as_deref().unwrap_or("").splitn(2, '\n');
    let addr1 = clean(lines.next());
    let addr2 = clean(lines.next()).map(|s| s.replace('\n', ", "));
    json!({
        "addr1": opt(&addr1), "addr2": opt(&addr2), "city": opt(&a.city),
        "state": opt(&a.state), "zip": opt(&a.postal_code), "country": opt(&a.country),
    })
}

fn ns_address_item(a: &Address, billing: bool, shipping: bool) -> Value {
    let label = match (billing, shipping) {
        (true, true) => "Billing & Shipping",
        (true, false) => "Billing",
        _ => "Shipping",
    };
    json!({
        "defaultBilling": billing,
        "defaultShipping": shipping,
        "label": label,
        "addressBookAddress": ns_address(a),
    })
}

pub fn ns_contact_body(
    config: &CustomersConfig,
    contact: &ContactDoc,
    customer_id: &str,
) -> Record {
    let mut body = Map::new();
    consent::ns_body(config, contact, &mut body);
    body.insert("firstName".into(), opt(&contact.first_name));
    body.insert("lastName".into(), opt(&contact.last_name));
    body.insert("email".into(), opt(&contact.email));
    body.insert("phone".into(), opt(&contact.phone));
    body.insert("title".into(), opt(&contact.title));
    body.insert("company".into(), json!({ "id": customer_id }));
    body
}

/// The Account body for `doc` (scalar fields and both addresses).
pub fn account_body(config: &CustomersConfig, doc: &CustomerDoc) -> Record {
    let mut body = Map::new();
    for (name, pair) in &config.fields {
        body.insert(
            pair.salesforce.clone(),
            opt(doc.fields.get(name).unwrap_or(&None)),
        );
    }
    for (prefix, address) in [("Billing", &doc.billing), ("Shipping", &doc.shipping)] {
        let a = address.clone().unwrap_or_default();
        let values = [a.street, a.city, a.state, a.postal_code, a.country];
        for (part, value) in SF_ADDRESS_PARTS.iter().zip(values) {
            body.insert(format!("{prefix}{part}"), opt(&value));
        }
    }
    body
}

pub fn sf_contact_body(
    config: &CustomersConfig,
    contact: &ContactDoc,
    account_id: Option<&str>,
) -> Record {
    let mut body = Map::new();
    consent::sf_body(config, contact, &mut body);
    body.insert("FirstName".into(), opt(&contact.first_name));
    // LastName is required in Salesforce; NetSuite allows a contact without one.
    let last = contact
        .last_name
        .clone()
        .or_else(|| contact.first_name.clone())
        .or_else(|| contact.email.clone())
        .unwrap_or_else(|| "(no name)".to_string());
    body.insert("LastName".into(), Value::String(last));
    body.insert("Email".into(), opt(&contact.email));
    body.insert("Phone".into(), opt(&contact.phone));
    body.insert("Title".into(), opt(&contact.title));
    if let Some(account_id) = account_id {
        body.insert("AccountId".into(), Value::String(account_id.to_string()));
    }
    body
}

/// Field-by-field view of a doc as the far side names its fields (for diffs).
pub fn field_view(
    config: &CustomersConfig,
    doc: &CustomerDoc,
    netsuite: bool,
) -> BTreeMap<String, Option<String>> {
    let mut view = BTreeMap::new();
    for (name, pair) in &config.fields {
        let field = if netsuite {
            &pair.netsuite
        } else {
            &pair.salesforce
        };
        view.insert(field.clone(), doc.fields.get(name).cloned().flatten());
    }
    for (kind, address) in [("billing", &doc.billing), ("shipping", &doc.shipping)] {
        let a = address.clone().unwrap_or_default();
        let parts = [
            ("street", "Street", a.street),
            ("city", "City", a.city),
            ("state", "State", a.state),
            ("zip", "PostalCode", a.postal_code),
            ("country", "Country", a.country),
        ];
        for (ns, sf, value) in parts {
            let field = if netsuite {
                format!("addressBook[{kind}].{ns}")
            } else {
                let prefix = if kind == "billing" {
                    "Billing"
                } else {
                    "Shipping"
                };
                format!("{prefix}{sf}")
            };
            view.insert(field, value);
        }
    }
    view
}

/// Field-by-field view of a contact as the far side names its fields.
pub fn contact_view(
    config: &CustomersConfig,
    contact: &ContactDoc,
    netsuite: bool,
) -> BTreeMap<String, Option<String>> {
    let names = if netsuite {
        ["firstName", "lastName", "email", "phone", "title"]
    } else {
        ["FirstName", "LastName", "Email", "Phone", "Title"]
    };
    let values = [
        &contact.first_name,
        &contact.last_name,
        &contact.email,
        &contact.phone,
        &contact.title,
    ];
    let mut view: BTreeMap<String, Option<String>> = names
        .iter()
        .map(|n| n.to_string())
        .zip(values.into_iter().cloned())
        .collect();
    view.extend(consent::view(config, contact, netsuite));
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> CustomersConfig {
        Config::load_from(None, Vec::new()).unwrap().customers
    }

    fn account() -> Record {
        let value = json!({
            "Id": "001000000000001AAA", "Name": "Globex", "Phone": "+1 555 0100", "Website": "globex.com",
            "BillingStreet": "1 Main St\nSuite 4\nFloor 2", "BillingCity": "Springfield", "BillingState": "IL",
            "BillingPostalCode": "62701", "BillingCountry": "United States",
            "ShippingStreet": "1 Main St\nSuite 4\nFloor 2", "ShippingCity": "Springfield", "ShippingState": "IL",
            "ShippingPostalCode": "62701", "ShippingCountry": "USA",
            "Contacts": { "totalSize": 1, "done": true, "records": [
                { "Id": "003000000000001AAA", "FirstName": "Hank", "LastName": "Scorpio", "Email": "Hank@Globex.com", "Phone": null, "Title": "CEO", "HasOptedOutOfEmail": true, "DoNotCall": true }
            ]}
        });
        value.as_object().unwrap().clone()
    }

    /// What NetSuite would hold after Isthmus wrote `doc`: the customer body and contact rows.
    fn as_netsuite(config: &CustomersConfig, doc: &CustomerDoc) -> (Record, Vec<Record>) {
        let customer = customer_body(config, doc);
        let rows = doc
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let body = ns_contact_body(config, c, "42");
                let mut row = Map::new();
                row.insert("id".into(), json!((i + 7).to_string()));
                for (from, to) in [
                    ("firstName", "firstname"),
                    ("lastName", "lastname"),
                    ("email", "email"),
                    ("phone", "phone"),
                    ("title", "title"),
                ] {
                    row.insert(to.into(), body[from].clone());
                }
                row.insert("externalid".into(), json!(c.salesforce_id));
                let status = body["globalSubscriptionStatus"]["id"].clone();
                row.insert("globalsubscriptionstatus".into(), status);
                let do_not_call = body["custentity_isthmus_do_not_call"] == json!(true);
                let checkbox = json!(if do_not_call { "T" } else { "F" });
                row.insert("custentity_isthmus_do_not_call".into(), checkbox);
                row
            })
            .collect();
        (customer, rows)
    }

    #[test]
    fn an_account_written_to_netsuite_reads_back_with_the_same_hash() {
        let config = config();
        let doc = from_account(&config, &account());
        assert_eq!(doc.billing.as_ref().unwrap().country.as_deref(), Some("US"));
        assert_eq!(
            doc.billing.as_ref().unwrap().street.as_deref(),
            Some("1 Main St\nSuite 4, Floor 2")
        );
        assert_eq!(
            doc.billing, doc.shipping,
            "country names normalise to one code"
        );
        let (customer, rows) = as_netsuite(&config, &doc);
        assert_eq!(
            customer["addressBook"]["items"].as_array().unwrap().len(),
            1,
            "one entry for both"
        );
        let back = from_customer(&config, &customer, &rows);
        assert_eq!(back.content_hash(), doc.content_hash());
        assert_eq!(
            back.contacts[0].salesforce_id.as_deref(),
            Some("003000000000001AAA")
        );
    }

    #[test]
    fn a_customer_written_to_salesforce_reads_back_with_the_same_hash() {
        let config = config();
        let doc = from_account(&config, &account());
        let mut written = account_body(&config, &doc);
        let contacts: Vec<Value> = doc
            .contacts
            .iter()
            .map(|c| Value::Object(sf_contact_body(&config, c, None)))
            .collect();
        written.insert("Contacts".into(), json!({ "records": contacts }));
        assert_eq!(
            from_account(&config, &written).content_hash(),
            doc.content_hash()
        );
    }

    #[test]
    fn countries_map_from_names_codes_and_aliases() {
        let config = config();
        for (typed, code) in [
            ("Portugal", "PT"),
            ("usa", "US"),
            ("de", "DE"),
            ("PRT", "PT"),
            ("United Kingdom", "GB"),
            ("New Zealand", "NZ"),
        ] {
            assert_eq!(country_code(&config, typed).as_deref(), Ok(code), "{typed}");
        }
        assert_eq!(
            country_code(&config, "Atlantis"),
            Err("Atlantis".to_string())
        );
        let mut account = account();
        account.insert("ShippingCountry".into(), json!("Atlantis"));
        let doc = from_account(&config, &account);
        assert_eq!(doc.shipping.unwrap().country, None);
        assert!(doc.warnings[0].contains("Atlantis"), "{:?}", doc.warnings);
    }

    #[test]
    fn account_fields_cover_mapping_and_addresses() {
        let fields = account_fields(&config());
        for f in [
            "Id",
            "Name",
            "Website",
            "BillingPostalCode",
            "ShippingCountry",
            "NetSuite_Id__c",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f}");
        }
    }
}

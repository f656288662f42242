//! Erasure of a person (issue 17.5): one contact, found by its Salesforce Contact id or its
//! NetSuite contact id, erased or anonymised on both sides as `customers.privacy` says, and
//! scrubbed from Isthmus' own store.
//!
//! - **Resolve** (two reads, one a side): the Salesforce Contact by id (SOQL, with the legal-hold
//!   checkboxes of the contact and its account in the same query) and the NetSuite contact by id
//!   or by `externalId` = the Salesforce Contact id (SuiteQL). The other side's id comes from the
//!   link fields the customers flows write (`NetSuite_Id__c`, `externalId`).
//! - **Legal hold**: a checked hold field, or a contact of a held NetSuite customer, refuses the
//!   erasure with `LEGAL_HOLD` before anything is written or locked.
//! - **Under the locks** of the account (`customer:sf:<id>`) and of the customer
//!   (`customer:ns:<id>`), the ones the two customers flows take, so no sync of the account runs
//!   between the scrub and the writes and writes the person again: first the store is scrubbed
//!   (the person's name, e-mail and phone replaced by `[erased]` in the audit log and every
//!   record history; the account link's content hashes cleared, so the next sync compares
//!   afresh), then each side is anonymised or deleted. The scrub runs first because it needs
//!   the values the writes remove: a request that fails half-way is repeated with them intact.
//! - **Anonymise** writes fixed placeholders ([`PLACEHOLDER_FIRST`], [`PLACEHOLDER_LAST`]; no
//!   e-mail, phone, title or Salesforce mailing address; NetSuite's `entityId` too) and opts the contact out of everything
//!   (every consent checkbox set; NetSuite's subscription status Soft Opt-Out unless it is a
//!   Confirmed Opt-Out). The record and its link fields stay, so a later sync updates the same
//!   placeholder instead of creating anyone. **Delete** deletes the record. With both sides
//!   deleted nothing is left to sync; with one side deleted and the other anonymised, a later
//!   sync can only carry the placeholder across, never the person.
//! - **Idempotent**: a side that already holds the placeholders (or is gone) is not written, and
//!   a request that writes nothing leaves no audit entry; a second request for a person
//!   anonymised on either side answers the same outcome with `already` set. A person deleted on
//!   both sides is unknown: the second request answers 404.
//!
//! The store's scrub ([`isthmus_store::AuditLog::redact_audit`]) reaches the audit log, the
//! record histories, job records and the answers kept for idempotency keys. Not covered: a
//! NetSuite contact's address book (no flow writes it).

use serde::Serialize;
use serde_json::{Map, Value};

use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;

use super::mapping::consent;
use super::mapping::{text, Record};
use super::{CustomerFlows, LINK_KIND};
use crate::config::ErasureMode;
use crate::error::{EngineError, Result};
use crate::lock::with_lock;

/// The first name an anonymised contact carries on both sides.
pub const PLACEHOLDER_FIRST: &str = "Erased";
/// The last name an anonymised contact carries on both sides.
pub const PLACEHOLDER_LAST: &str = "Person";
/// The Contact's mailing address parts, cleared by anonymise (no flow syncs them; NetSuite's
/// contact keeps addresses in an address book the flows do not touch either).
const SF_MAILING_ADDRESS: [&str; 5] = [
    "MailingStreet",
    "MailingCity",
    "MailingState",
    "MailingPostalCode",
    "MailingCountry",
];
/// What replaces the person's values in the audit log.
pub const REDACTED: &str = "[erased]";

/// Who to erase: the id the caller knows.
#[derive(Debug, Clone)]
pub enum Person {
    Salesforce(SalesforceId),
    NetSuite(NetSuiteId),
}

/// What an erasure did (or, on a dry run, would do) to one side's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SideAction {
    Anonymised,
    Deleted,
    /// The side held the placeholders already.
    AlreadyAnonymised,
    /// The side has no record of the person (never synced, or deleted before).
    Absent,
}

impl SideAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymised => "anonymised",
            Self::Deleted => "deleted",
            Self::AlreadyAnonymised => "already_anonymised",
            Self::Absent => "absent",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Self::Anonymised | Self::Deleted)
    }
}

/// The answer to an erasure request: ids and actions only, never the person's values.
#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub salesforce_contact_id: Option<String>,
    pub netsuite_contact_id: Option<String>,
    pub salesforce_account_id: Option<String>,
    pub netsuite_customer_id: Option<String>,
    pub salesforce: SideAction,
    pub netsuite: SideAction,
    /// The configured modes.
    pub salesforce_mode: ErasureMode,
    pub netsuite_mode: ErasureMode,
    /// Audit entries (log and record histories) the scrub changed.
    pub audit_entries_redacted: u64,
    pub dry_run: bool,
}

impl Erasure {
    /// Whether the request wrote anything (to either side or to the store).
    pub fn wrote(&self) -> bool {
        !self.dry_run
            && (self.salesforce.writes()
                || self.netsuite.writes()
                || self.audit_entries_redacted > 0)
    }
}

/// The person as both sides hold them.
struct Found {
    salesforce: Option<Record>,
    netsuite: Option<Record>,
}

impl CustomerFlows {
    /// Erases `person` as `customers.privacy` configures (see the module docs). A dry run reads
    /// and checks the holds, and writes nothing anywhere.
    pub async fn erase_person(&self, person: &Person, dry_run: bool) -> Result<Erasure> {
        let found = self.find_person(person).await?;
        if found.salesforce.is_none() && found.netsuite.is_none() {
            return Err(EngineError::NotFound(match person {
                Person::Salesforce(id) => format!("no contact {id} in Salesforce or NetSuite"),
                Person::NetSuite(id) => format!("no NetSuite contact {id} on either side"),
            }));
        }
        self.check_legal_hold(&found)?;
        let sf_id = found.salesforce.as_ref().and_then(|r| text(r, "Id"));
        let ns_id = found.netsuite.as_ref().and_then(|r| text(r, "id"));
        let account = found.salesforce.as_ref().and_then(|r| text(r, "AccountId"));
        let mut customer = found.netsuite.as_ref().and_then(|r| text(r, "company"));
        if customer.is_none() {
            if let Some(account) = &account {
                customer = self
                    .store
                    .link_by_salesforce(LINK_KIND, account)
                    .await?
                    .map(|l| l.netsuite_id);
            }
        }
        let modes = &self.config.privacy.erasure;
        let mut erasure = Erasure {
            salesforce_contact_id: sf_id,
            netsuite_contact_id: ns_id,
            salesforce_account_id: account.clone(),
            netsuite_customer_id: customer.clone(),
            salesforce: plan_side(found.salesforce.as_ref(), modes.salesforce, sf_anonymised),
            netsuite: plan_side(found.netsuite.as_ref(), modes.netsuite, ns_anonymised),
            salesforce_mode: modes.salesforce,
            netsuite_mode: modes.netsuite,
            audit_entries_redacted: 0,
            dry_run,
        };
        // Both sides erased already: their values are placeholders, so the store holds nothing
        // left to scrub either; no lock is taken and nothing is written.
        if dry_run || !(erasure.salesforce.writes() || erasure.netsuite.writes()) {
            return Ok(erasure);
        }
        // The account's link (by the account, else by the customer) names the pair both flows
        // lock, even when one side never had the contact.
        let link = match (&account, &customer) {
            (Some(account), _) => self.store.link_by_salesforce(LINK_KIND, account).await?,
            (None, Some(customer)) => self.store.link_by_netsuite(LINK_KIND, customer).await?,
            (None, None) => None,
        };
        let locked_account = account
            .clone()
            .or_else(|| link.as_ref().map(|l| l.salesforce_id.clone()));
        let locked_customer = customer
            .clone()
            .or_else(|| link.as_ref().map(|l| l.netsuite_id.clone()));
        let sf_lock = format!(
            "{LINK_KIND}:sf:{}",
            locked_account.as_deref().unwrap_or("-")
        );
        let ns_lock = format!(
            "{LINK_KIND}:ns:{}",
            locked_customer.as_deref().unwrap_or("-")
        );
        let (ttl, wait) = (self.config.lock_ttl(), self.config.lock_wait());
        with_lock(&self.store, &sf_lock, ttl, wait, |sf_lease| async move {
            with_lock(&self.store, &ns_lock, ttl, wait, |_| async move {
                erasure.audit_entries_redacted = self.scrub_store(&found).await?;
                // Re-read under the lock: a sync may have written the link since.
                let link = match &locked_account {
                    Some(account) => self.store.link_by_salesforce(LINK_KIND, account).await?,
                    None => None,
                };
                if let Some(mut link) = link {
                    if !link.salesforce_hash.is_empty() || !link.netsuite_hash.is_empty() {
                        link.salesforce_hash.clear();
                        link.netsuite_hash.clear();
                        self.store.put_link(&link, &sf_lease).await?;
                    }
                }
                self.write_sides(&found, &erasure).await?;
                Ok(erasure)
            })
            .await
        })
        .await
    }

    async fn find_person(&self, person: &Person) -> Result<Found> {
        match person {
            Person::Salesforce(id) => {
                let salesforce = self.read_sf_contact("Id", id.as_str()).await?;
                let ns_link = salesforce.as_ref().and_then(|r| text(r, "NetSuite_Id__c"));
                let netsuite = match ns_link.filter(|l| NetSuiteId::is_valid(l)) {
                    Some(ns) => self.read_ns_contact("id", &ns).await?,
                    None => self.read_ns_contact("externalid", id.as_str()).await?,
                };
                Ok(Found {
                    salesforce,
                    netsuite,
                })
            }
            Person::NetSuite(id) => {
                let netsuite = self.read_ns_contact("id", id.as_str()).await?;
                let sf_link = netsuite
                    .as_ref()
                    .and_then(|r| text(r, "externalid"))
                    .and_then(|e| SalesforceId::parse(&e).ok())
                    .filter(|e| e.is(isthmus_salesforce::id::SObject::Contact));
                let salesforce = match sf_link {
                    Some(sf) => self.read_sf_contact("Id", sf.as_str()).await?,
                    None => self.read_sf_contact("NetSuite_Id__c", id.as_str()).await?,
                };
                Ok(Found {
                    salesforce,
                    netsuite,
                })
            }
        }
    }

    /// The Contact whose `field` is `value` (one SOQL call), with the hold checkboxes.
    async fn read_sf_contact(&self, field: &str, value: &str) -> Result<Option<Record>> {
        let hold = &self.config.privacy.legal_hold;
        let mut fields: Vec<String> = [
            "Id",
            "AccountId",
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Title",
            "NetSuite_Id__c",
        ]
        .map(str::to_string)
        .to_vec();
        fields.extend(consent::sf_fields(&self.config));
        if !hold.salesforce_contact_field.is_empty() {
            fields.push(hold.salesforce_contact_field.clone());
        }
        if !hold.salesforce_account_field.is_empty() {
            fields.push(format!("Account.{}", hold.salesforce_account_field));
        }
        let q = format!(
            "SELECT {} FROM Contact WHERE {field} = {} LIMIT 1",
            fields.join(", "),
            isthmus_salesforce::soql::literal(value)
        );
        Ok(self.salesforce.query(&q).await?.into_iter().next())
    }

    /// The contact whose `column` is `value` (one SuiteQL call).
    async fn read_ns_contact(&self, column: &str, value: &str) -> Result<Option<Record>> {
        let q = format!(
            "SELECT id, entityid, firstname, lastname, email, phone, title, company, externalid, {} FROM contact WHERE {column} = {}",
            consent::ns_columns(&self.config).join(", "),
            isthmus_netsuite::suiteql::literal(value)
        );
        Ok(self.netsuite.suiteql(&q).await?.into_iter().next())
    }

    fn check_legal_hold(&self, found: &Found) -> Result<()> {
        let hold = &self.config.privacy.legal_hold;
        if let Some(contact) = &found.salesforce {
            let id = text(contact, "Id").unwrap_or_default();
            if !hold.salesforce_contact_field.is_empty()
                && checked(contact.get(&hold.salesforce_contact_field))
            {
                return Err(EngineError::LegalHold(format!(
                    "contact {id} is under a legal hold (Contact.{}); nothing was changed",
                    hold.salesforce_contact_field
                )));
            }
            let account_hold = contact
                .get("Account")
                .and_then(Value::as_object)
                .and_then(|a| a.get(&hold.salesforce_account_field));
            if !hold.salesforce_account_field.is_empty() && checked(account_hold) {
                return Err(EngineError::LegalHold(format!(
                    "the account of contact {id} is under a legal hold (Account.{}); nothing was changed",
                    hold.salesforce_account_field
                )));
            }
        }
        if let Some(contact) = &found.netsuite {
            if let Some(customer) = text(contact, "company") {
                if hold
                    .netsuite_customers
                    .iter()
                    .any(|c| c.as_str() == customer)
                {
                    return Err(EngineError::LegalHold(format!(
                        "NetSuite customer {customer} of contact {} is under a legal hold; nothing was changed",
                        text(contact, "id").unwrap_or_default()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Replaces the person's values in the audit log and record histories: the full name,
    /// e-mail and phone wherever they occur, a first or last name alone only as a whole JSON
    /// string (so another person's "Hank" in a longer text stays).
    async fn scrub_store(&self, found: &Found) -> Result<u64> {
        let mut anywhere = Vec::new();
        let mut whole = Vec::new();
        let sides = [
            (
                found.salesforce.as_ref(),
                ["FirstName", "LastName", "Email", "Phone"],
            ),
            (
                found.netsuite.as_ref(),
                ["firstname", "lastname", "email", "phone"],
            ),
        ];
        for (record, [first, last, email, phone]) in sides {
            let Some(record) = record else { continue };
            let first = text(record, first).filter(|v| v != PLACEHOLDER_FIRST);
            let last = text(record, last).filter(|v| v != PLACEHOLDER_LAST);
            if let (Some(first), Some(last)) = (&first, &last) {
                anywhere.push(json_inner(&format!("{first} {last}")));
            }
            for value in [
                text(record, email),
                text(record, email).map(|e| e.to_lowercase()),
                text(record, phone),
            ]
            .into_iter()
            .flatten()
            {
                anywhere.push(json_inner(&value));
            }
            for value in [first, last].into_iter().flatten() {
                whole.push(Value::String(value).to_string());
            }
        }
        anywhere.sort();
        anywhere.dedup();
        whole.sort();
        whole.dedup();
        let mut changed = 0;
        if !anywhere.is_empty() {
            changed += self.store.redact_audit(&anywhere, REDACTED).await?;
        }
        if !whole.is_empty() {
            let quoted = Value::String(REDACTED.into()).to_string();
            changed += self.store.redact_audit(&whole, &quoted).await?;
        }
        Ok(changed)
    }

    async fn write_sides(&self, found: &Found, erasure: &Erasure) -> Result<()> {
        if let (Some(_), Some(id)) = (&found.salesforce, &erasure.salesforce_contact_id) {
            match erasure.salesforce {
                SideAction::Anonymised => {
                    self.salesforce
                        .update("Contact", id, &self.sf_placeholder())
                        .await?
                }
                SideAction::Deleted => self.salesforce.delete("Contact", id).await?,
                SideAction::AlreadyAnonymised | SideAction::Absent => {}
            }
        }
        if let (Some(contact), Some(id)) = (&found.netsuite, &erasure.netsuite_contact_id) {
            match erasure.netsuite {
                SideAction::Anonymised => {
                    self.netsuite
                        .update("contact", id, &self.ns_placeholder(contact, id), &[])
                        .await?
                }
                SideAction::Deleted => self.netsuite.delete("contact", id).await?,
                SideAction::AlreadyAnonymised | SideAction::Absent => {}
            }
        }
        Ok(())
    }

    fn sf_placeholder(&self) -> Record {
        let mut body = Map::new();
        body.insert("FirstName".into(), PLACEHOLDER_FIRST.into());
        body.insert("LastName".into(), PLACEHOLDER_LAST.into());
        for field in ["Email", "Phone", "Title"]
            .into_iter()
            .chain(SF_MAILING_ADDRESS)
        {
            body.insert(field.into(), Value::Null);
        }
        consent::sf_opt_out_all(&self.config, &mut body);
        body
    }

    fn ns_placeholder(&self, contact: &Record, id: &str) -> Record {
        let mut body = Map::new();
        body.insert("entityId".into(), entity_id(id).into());
        body.insert("firstName".into(), PLACEHOLDER_FIRST.into());
        body.insert("lastName".into(), PLACEHOLDER_LAST.into());
        for field in ["email", "phone", "title"] {
            body.insert(field.into(), Value::Null);
        }
        consent::ns_opt_out_all(&self.config, contact, &mut body);
        body
    }
}

/// The `entityId` of an anonymised NetSuite contact: the placeholder and the internal id, so it
/// stays unique and names no one.
fn entity_id(id: &str) -> String {
    format!("{PLACEHOLDER_FIRST} {PLACEHOLDER_LAST} {id}")
}

fn plan_side(
    record: Option<&Record>,
    mode: ErasureMode,
    anonymised: fn(&Record) -> bool,
) -> SideAction {
    match (record, mode) {
        (None, _) => SideAction::Absent,
        (Some(_), ErasureMode::Delete) => SideAction::Deleted,
        (Some(r), ErasureMode::Anonymise) if anonymised(r) => SideAction::AlreadyAnonymised,
        (Some(_), ErasureMode::Anonymise) => SideAction::Anonymised,
    }
}

fn placeholder_names(record: &Record, first: &str, last: &str) -> bool {
    text(record, first).as_deref() == Some(PLACEHOLDER_FIRST)
        && text(record, last).as_deref() == Some(PLACEHOLDER_LAST)
}

fn sf_anonymised(record: &Record) -> bool {
    placeholder_names(record, "FirstName", "LastName")
        && ["Email", "Phone", "Title"]
            .iter()
            .all(|f| text(record, f).is_none())
}

fn ns_anonymised(record: &Record) -> bool {
    placeholder_names(record, "firstname", "lastname")
        && ["email", "phone", "title"]
            .iter()
            .all(|f| text(record, f).is_none())
        && text(record, "id").is_some_and(|id| text(record, "entityid") == Some(entity_id(&id)))
}

/// A checkbox as SOQL (`true`) or SuiteQL (`T`) shows it.
fn checked(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}

/// A value as it appears inside a JSON string (escaped, without the quotes).
fn json_inner(value: &str) -> String {
    let quoted = Value::String(value.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

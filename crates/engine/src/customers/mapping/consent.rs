//! Contact consent, both ways: Salesforce Contact checkboxes ⇄ NetSuite contact fields, held in
//! [`ContactDoc::consent`] as "opted out" flags by unit.
//!
//! - `email_opt_out`: `HasOptedOutOfEmail` ⇄ `globalSubscriptionStatus` (1 Soft Opt-In,
//!   2 Soft Opt-Out, 3 Confirmed Opt-In, 4 Confirmed Opt-Out; opted out is 2 or 4). A write
//!   keeps a status that already agrees, so a confirmed status is never downgraded to a soft
//!   one, and sends the soft value otherwise. A Confirmed Opt-Out is the recipient's own answer
//!   (only they can lift it in NetSuite), so it is never overwritten: the contact keeps it, and
//!   the reverse flow carries it to Salesforce.
//! - `do_not_call`: `DoNotCall` ⇄ the checkbox `customers.consent.netsuite_do_not_call` names.
//! - `customers.consent.fields`: further checkbox pairs.
//!
//! Ownership (`customers.ownership.<unit>`) applies per contact as for a customer's fields: a
//! unit owned by the target side keeps the target's value. Contacts keep no snapshot of their
//! own, so `latest` and `manual` let the side the sync runs from win (as every contact field).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{text, Record};
use crate::config::{CustomersConfig, Ownership, DO_NOT_CALL, EMAIL_OPT_OUT};
use crate::customers::doc::ContactDoc;
use crate::customers::plan::Target;

/// Salesforce's e-mail opt-out checkbox on Contact.
pub const SF_EMAIL_OPT_OUT: &str = "HasOptedOutOfEmail";
/// Salesforce's do-not-call checkbox on Contact.
pub const SF_DO_NOT_CALL: &str = "DoNotCall";
/// NetSuite's subscription status field on contact (SuiteQL column in lower case).
pub const NS_SUBSCRIPTION_STATUS: &str = "globalSubscriptionStatus";

const SOFT_OPT_IN: &str = "1";
const SOFT_OPT_OUT: &str = "2";
const CONFIRMED_OPT_OUT: &str = "4";

/// The checkbox pairs (unit, Salesforce field, NetSuite field), e-mail opt-out excepted.
fn checkboxes(config: &CustomersConfig) -> Vec<(&str, &str, &str)> {
    let mut pairs = Vec::new();
    let do_not_call = config.consent.netsuite_do_not_call.as_str();
    if !do_not_call.is_empty() {
        pairs.push((DO_NOT_CALL, SF_DO_NOT_CALL, do_not_call));
    }
    for (unit, pair) in &config.consent.fields {
        pairs.push((
            unit.as_str(),
            pair.salesforce.as_str(),
            pair.netsuite.as_str(),
        ));
    }
    pairs
}

/// The Salesforce Contact fields consent reads.
pub fn sf_fields(config: &CustomersConfig) -> Vec<String> {
    std::iter::once(SF_EMAIL_OPT_OUT)
        .chain(checkboxes(config).into_iter().map(|(_, sf, _)| sf))
        .map(str::to_string)
        .collect()
}

/// The SuiteQL columns of `contact` consent reads (lower case, as SuiteQL names them).
pub fn ns_columns(config: &CustomersConfig) -> Vec<String> {
    std::iter::once(NS_SUBSCRIPTION_STATUS)
        .chain(checkboxes(config).into_iter().map(|(_, _, ns)| ns))
        .map(str::to_lowercase)
        .collect()
}

/// A checkbox as either API shows it: a JSON boolean, or text (`true`, SuiteQL's `T`, Bulk
/// CSV's `true`); anything else is unchecked.
fn checked(record: &Record, field: &str) -> bool {
    match record.get(field) {
        Some(Value::Bool(b)) => *b,
        _ => matches!(
            text(record, field).as_deref(),
            Some("T" | "t" | "true" | "True" | "TRUE" | "1")
        ),
    }
}

/// Whether a subscription status code means opted out (2 or 4).
fn opted_out(status: &str) -> bool {
    matches!(status, "2" | "4")
}

/// Consent of a Salesforce Contact record.
pub fn from_salesforce(config: &CustomersConfig, contact: &Record) -> BTreeMap<String, bool> {
    let mut consent = BTreeMap::new();
    consent.insert(
        EMAIL_OPT_OUT.to_string(),
        checked(contact, SF_EMAIL_OPT_OUT),
    );
    for (unit, sf, _) in checkboxes(config) {
        consent.insert(unit.to_string(), checked(contact, sf));
    }
    consent
}

/// Consent of a NetSuite contact row (SuiteQL) and its status code. A contact without a status
/// reads as opted in, NetSuite's default (Soft Opt-In).
pub fn from_netsuite(
    config: &CustomersConfig,
    row: &Record,
) -> (BTreeMap<String, bool>, Option<String>) {
    let status = text(row, &NS_SUBSCRIPTION_STATUS.to_lowercase())
        .or_else(|| text(row, NS_SUBSCRIPTION_STATUS));
    let mut consent = BTreeMap::new();
    consent.insert(
        EMAIL_OPT_OUT.to_string(),
        status.as_deref().is_some_and(opted_out),
    );
    for (unit, _, ns) in checkboxes(config) {
        let value = checked(row, &ns.to_lowercase()) || checked(row, ns);
        consent.insert(unit.to_string(), value);
    }
    (consent, status)
}

/// The Salesforce Contact body fields for a contact's consent.
pub fn sf_body(config: &CustomersConfig, contact: &ContactDoc, body: &mut Record) {
    let value = |unit: &str| Value::Bool(contact.consent.get(unit).copied().unwrap_or(false));
    body.insert(SF_EMAIL_OPT_OUT.into(), value(EMAIL_OPT_OUT));
    for (unit, sf, _) in checkboxes(config) {
        body.insert(sf.into(), value(unit));
    }
}

/// The NetSuite contact body fields for a contact's consent (its status as [`settle`] chose it).
pub fn ns_body(config: &CustomersConfig, contact: &ContactDoc, body: &mut Record) {
    let value = |unit: &str| contact.consent.get(unit).copied().unwrap_or(false);
    let status = contact
        .subscription_status
        .clone()
        .unwrap_or_else(|| status_for(value(EMAIL_OPT_OUT), None).to_string());
    body.insert(NS_SUBSCRIPTION_STATUS.into(), json!({ "id": status }));
    for (unit, _, ns) in checkboxes(config) {
        body.insert(ns.into(), Value::Bool(value(unit)));
    }
}

/// The Salesforce Contact body fields that opt a contact out of everything (erasure).
pub fn sf_opt_out_all(config: &CustomersConfig, body: &mut Record) {
    for field in sf_fields(config) {
        body.insert(field, Value::Bool(true));
    }
}

/// The NetSuite contact body fields that opt the contact `row` (SuiteQL) out of everything
/// (erasure): every checkbox set, and the subscription status Soft Opt-Out unless it is an
/// opt-out already (a Confirmed Opt-Out is the recipient's own answer and stays).
pub fn ns_opt_out_all(config: &CustomersConfig, row: &Record, body: &mut Record) {
    let (_, current) = from_netsuite(config, row);
    let status = status_for(true, current.as_deref());
    body.insert(NS_SUBSCRIPTION_STATUS.into(), json!({ "id": status }));
    for (_, _, ns) in checkboxes(config) {
        body.insert(ns.into(), Value::Bool(true));
    }
}

/// Consent as the far side names its fields, for diffs (`true`/`false`; NetSuite's status by
/// its code).
pub fn view(
    config: &CustomersConfig,
    contact: &ContactDoc,
    netsuite: bool,
) -> BTreeMap<String, Option<String>> {
    let value = |unit: &str| contact.consent.get(unit).copied().unwrap_or(false);
    let mut view = BTreeMap::new();
    if netsuite {
        let status = contact
            .subscription_status
            .clone()
            .unwrap_or_else(|| status_for(value(EMAIL_OPT_OUT), None).to_string());
        view.insert(NS_SUBSCRIPTION_STATUS.to_string(), Some(status));
    } else {
        view.insert(
            SF_EMAIL_OPT_OUT.to_string(),
            Some(value(EMAIL_OPT_OUT).to_string()),
        );
    }
    for (unit, sf, ns) in checkboxes(config) {
        let field = if netsuite { ns } else { sf };
        view.insert(field.to_string(), Some(value(unit).to_string()));
    }
    view
}

/// The status to write for an opt-out flag: the current one when it already agrees, else the
/// soft value.
fn status_for(opt_out: bool, current: Option<&str>) -> &str {
    match current {
        Some(code) if opted_out(code) == opt_out && matches!(code, "1" | "2" | "3" | "4") => code,
        _ if opt_out => SOFT_OPT_OUT,
        _ => SOFT_OPT_IN,
    }
}

/// Settles the consent a desired contact gets on `target`, given the contact there now:
/// units the target owns keep the target's value, a NetSuite Confirmed Opt-Out stays, and a
/// NetSuite status that already agrees is kept. `true` when a unit kept a value that differs
/// from the source's (the sides stay apart until the reverse flow carries it over).
pub fn settle(
    config: &CustomersConfig,
    target: Target,
    desired: &mut ContactDoc,
    existing: Option<&ContactDoc>,
) -> bool {
    let mut kept = false;
    if let Some(existing) = existing {
        let owner = match target {
            Target::NetSuite => Ownership::Netsuite,
            Target::Salesforce => Ownership::Salesforce,
        };
        let units: Vec<String> = config.consent_units().map(str::to_string).collect();
        for unit in units {
            let far = existing.consent.get(&unit).copied().unwrap_or(false);
            let wanted = desired.consent.get(&unit).copied().unwrap_or(false);
            let confirmed_out = target == Target::NetSuite
                && unit == EMAIL_OPT_OUT
                && existing.subscription_status.as_deref() == Some(CONFIRMED_OPT_OUT);
            if far != wanted && (config.ownership_of(&unit) == owner || confirmed_out) {
                desired.consent.insert(unit, far);
                kept = true;
            }
        }
    }
    if target == Target::NetSuite {
        let opt_out = desired.consent.get(EMAIL_OPT_OUT).copied().unwrap_or(false);
        let current = existing.and_then(|e| e.subscription_status.as_deref());
        desired.subscription_status = Some(status_for(opt_out, current).to_string());
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> CustomersConfig {
        Config::load_from(None, Vec::new()).unwrap().customers
    }

    fn contact(opt_out: bool, status: Option<&str>) -> ContactDoc {
        let mut consent = BTreeMap::new();
        consent.insert(EMAIL_OPT_OUT.to_string(), opt_out);
        consent.insert(DO_NOT_CALL.to_string(), false);
        ContactDoc {
            consent,
            subscription_status: status.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn every_subscription_status_reads_as_opted_in_or_out() {
        let config = config();
        for (code, out) in [("1", false), ("2", true), ("3", false), ("4", true)] {
            let row =
                json!({ "globalsubscriptionstatus": code, "custentity_isthmus_do_not_call": "T" });
            let (consent, status) = from_netsuite(&config, row.as_object().unwrap());
            assert_eq!(consent[EMAIL_OPT_OUT], out, "{code}");
            assert!(consent[DO_NOT_CALL]);
            assert_eq!(status.as_deref(), Some(code));
        }
        let (consent, _) = from_netsuite(&config, json!({}).as_object().unwrap());
        assert!(
            !consent[EMAIL_OPT_OUT],
            "no status is NetSuite's default, opted in"
        );
    }

    #[test]
    fn a_status_that_agrees_is_kept_and_a_change_writes_the_soft_value() {
        let config = config();
        for (wanted, current, written) in [
            (false, Some("3"), "3"),
            (false, Some("2"), "1"),
            (true, Some("1"), "2"),
            (true, Some("3"), "2"),
            (true, Some("4"), "4"),
            (false, None, "1"),
            (true, None, "2"),
        ] {
            let mut desired = contact(wanted, None);
            let existing = current.map(|c| contact(opted_out(c), Some(c)));
            settle(&config, Target::NetSuite, &mut desired, existing.as_ref());
            assert_eq!(
                desired.subscription_status.as_deref(),
                Some(written),
                "{wanted} over {current:?}"
            );
        }
    }

    #[test]
    fn a_confirmed_opt_out_is_never_overwritten() {
        let config = config();
        let mut desired = contact(false, None);
        let kept = settle(
            &config,
            Target::NetSuite,
            &mut desired,
            Some(&contact(true, Some("4"))),
        );
        assert!(kept);
        assert!(desired.consent[EMAIL_OPT_OUT]);
        assert_eq!(desired.subscription_status.as_deref(), Some("4"));
    }

    #[test]
    fn a_unit_the_target_owns_keeps_the_targets_value() {
        let mut config = config();
        config
            .ownership
            .insert(EMAIL_OPT_OUT.into(), Ownership::Salesforce);
        let mut desired = contact(true, Some("2"));
        assert!(settle(
            &config,
            Target::Salesforce,
            &mut desired,
            Some(&contact(false, None))
        ));
        assert!(!desired.consent[EMAIL_OPT_OUT]);
        // Written to NetSuite, the Salesforce-owned value goes through.
        let mut desired = contact(true, None);
        assert!(!settle(
            &config,
            Target::NetSuite,
            &mut desired,
            Some(&contact(false, Some("1")))
        ));
        assert_eq!(desired.subscription_status.as_deref(), Some("2"));
    }
}

//! What a sync would change: field-level diffs and the pairing of contacts across the sides,
//! gathered into a [`Plan`] that both flows build the same way and a dry run returns as is.

use std::collections::BTreeMap;

use crate::result::{FieldChange, Outcome};

use super::doc::{ContactDoc, CustomerDoc};
use super::mapping::{self, consent};
use crate::config::CustomersConfig;

/// A side: the one a plan writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    NetSuite,
    Salesforce,
}

impl Target {
    /// The other side (the source of a flow that writes `self`).
    pub fn other(self) -> Self {
        match self {
            Self::NetSuite => Self::Salesforce,
            Self::Salesforce => Self::NetSuite,
        }
    }

    /// `salesforce` or `netsuite`, as policies and conflicts name the sides.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetSuite => "netsuite",
            Self::Salesforce => "salesforce",
        }
    }

    fn record(self) -> &'static str {
        match self {
            Self::NetSuite => "netsuite.customer",
            Self::Salesforce => "salesforce.Account",
        }
    }

    fn contact_record(self, contact: &ContactDoc) -> String {
        let kind = match self {
            Self::NetSuite => "netsuite.contact",
            Self::Salesforce => "salesforce.Contact",
        };
        format!("{kind}[{}]", contact.display_name())
    }

    fn is_netsuite(self) -> bool {
        self == Self::NetSuite
    }

    /// The id of the source-side contact that the target-side contact must carry as its key
    /// (NetSuite `externalId` = Salesforce contact id; Salesforce `NetSuite_Id__c` = NetSuite id).
    fn contact_key(self, contact: &ContactDoc) -> &Option<String> {
        match self {
            Self::NetSuite => &contact.salesforce_id,
            Self::Salesforce => &contact.netsuite_id,
        }
    }
}

/// Everything a sync would write to its target, computed before the first write.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<FieldChange>,
    /// The target record itself needs a write.
    pub record_changed: bool,
    /// Contacts to create or update on the target.
    pub contact_writes: Vec<ContactPair>,
    /// Target contacts with no counterpart in the source: left as they are.
    pub untouched: Vec<ContactDoc>,
    /// A contact kept consent the source does not hold.
    pub consent_kept: bool,
}

/// A key field of the target record that must hold a value: (field, value now, value wanted).
pub struct KeyField<'a> {
    pub field: &'a str,
    pub current: Option<String>,
    pub wanted: &'a str,
}

impl Plan {
    /// The plan that turns `far` (absent: not created yet) into `desired` on `target`.
    pub fn new(
        config: &CustomersConfig,
        target: Target,
        desired: &CustomerDoc,
        far: Option<&CustomerDoc>,
        key: Option<KeyField<'_>>,
    ) -> Self {
        let netsuite = target.is_netsuite();
        let current = far.map(|f| mapping::field_view(config, f, netsuite));
        let mut changes = diff(
            target.record(),
            current.as_ref(),
            &mapping::field_view(config, desired, netsuite),
        );
        if let Some(key) = key.filter(|k| k.current.as_deref() != Some(k.wanted)) {
            changes.push(FieldChange {
                record: target.record().into(),
                field: key.field.into(),
                before: key.current.map(serde_json::Value::String),
                after: Some(serde_json::Value::String(key.wanted.into())),
            });
        }
        let record_changed = !changes.is_empty();
        let (pairs, untouched) =
            pair_contacts(&desired.contacts, far.map_or(&[][..], |f| &f.contacts));
        let mut contact_writes = Vec::new();
        let mut consent_kept = false;
        for mut pair in pairs {
            consent_kept |=
                consent::settle(config, target, &mut pair.desired, pair.existing.as_ref());
            let before = pair
                .existing
                .as_ref()
                .map(|c| mapping::contact_view(config, c, netsuite));
            let contact_changes = diff(
                &target.contact_record(&pair.desired),
                before.as_ref(),
                &mapping::contact_view(config, &pair.desired, netsuite),
            );
            let key_missing = pair.existing.as_ref().is_some_and(|e| {
                let wanted = target.contact_key(&pair.desired);
                wanted.is_some() && target.contact_key(e) != wanted
            });
            if pair.existing.is_none() || key_missing || !contact_changes.is_empty() {
                contact_writes.push(pair);
            }
            changes.extend(contact_changes);
        }
        Self {
            changes,
            record_changed,
            contact_writes,
            untouched,
            consent_kept,
        }
    }

    /// The target keeps consent that differs from the source (see [`consent::settle`]): the
    /// sides stay apart until the reverse flow carries it over.
    pub fn diverged(&self) -> bool {
        self.consent_kept
    }

    /// Created when the target record does not exist yet; updated when anything is written.
    pub fn outcome(&self, target_exists: bool) -> Outcome {
        match (
            target_exists,
            self.record_changed || !self.contact_writes.is_empty(),
        ) {
            (false, _) => Outcome::Created,
            (true, true) => Outcome::Updated,
            (true, false) => Outcome::Unchanged,
        }
    }

    /// What the target holds after the plan is written: the desired content plus the target's
    /// own contacts that nothing paired with.
    pub fn target_after(&self, desired: &CustomerDoc) -> CustomerDoc {
        let mut after = desired.clone();
        after.contacts.extend(self.untouched.iter().cloned());
        after.normalise()
    }
}

/// Changes that turn `before` (absent: the record does not exist yet) into `after`.
pub fn diff(
    record: &str,
    before: Option<&BTreeMap<String, Option<String>>>,
    after: &BTreeMap<String, Option<String>>,
) -> Vec<FieldChange> {
    after
        .iter()
        .filter_map(|(field, new)| {
            let old = before.and_then(|b| b.get(field).cloned().flatten());
            let changed = match before {
                None => new.is_some(),
                Some(_) => &old != new,
            };
            changed.then(|| FieldChange {
                record: record.to_string(),
                field: field.clone(),
                before: old.map(serde_json::Value::String),
                after: new.clone().map(serde_json::Value::String),
            })
        })
        .collect()
}

/// A desired contact and the far-side contact it becomes, if one exists.
#[derive(Debug, Clone)]
pub struct ContactPair {
    pub desired: ContactDoc,
    pub existing: Option<ContactDoc>,
}

/// Pairs each desired contact with an existing far-side one: first by id (a Salesforce id on
/// both, or a NetSuite id on both), then by e-mail. Returns the pairs and the existing contacts
/// nothing paired with (they stay as they are: a sync never deletes contacts).
pub fn pair_contacts(
    desired: &[ContactDoc],
    existing: &[ContactDoc],
) -> (Vec<ContactPair>, Vec<ContactDoc>) {
    let mut free: Vec<Option<&ContactDoc>> = existing.iter().map(Some).collect();
    let mut take = |pred: &dyn Fn(&ContactDoc) -> bool| -> Option<ContactDoc> {
        let slot = free.iter_mut().find(|c| c.is_some_and(pred))?;
        slot.take().cloned()
    };
    let mut pairs = Vec::with_capacity(desired.len());
    let mut unpaired = Vec::new();
    for want in desired {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        let by_id = take(&|c: &ContactDoc| {
            same(&c.salesforce_id, &want.salesforce_id) || same(&c.netsuite_id, &want.netsuite_id)
        });
        unpaired.push((want.clone(), by_id));
    }
    for (want, found) in unpaired.iter_mut() {
        if found.is_none() {
            if let Some(email) = want.email.clone() {
                *found = take(&|c: &ContactDoc| c.email.as_deref() == Some(email.as_str()));
            }
        }
    }
    for (want, found) in unpaired {
        pairs.push(ContactPair {
            desired: want,
            existing: found,
        });
    }
    let rest = free.into_iter().flatten().cloned().collect();
    (pairs, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(sf: Option<&str>, ns: Option<&str>, email: &str) -> ContactDoc {
        ContactDoc {
            salesforce_id: sf.map(Into::into),
            netsuite_id: ns.map(Into::into),
            email: Some(email.into()),
            last_name: Some("X".into()),
            ..Default::default()
        }
    }

    #[test]
    fn contacts_pair_by_id_before_email() {
        let desired = [
            c(Some("003A"), None, "a@x.com"),
            c(Some("003B"), None, "b@x.com"),
        ];
        let existing = [
            c(None, Some("7"), "b@x.com"),
            c(Some("003A"), Some("8"), "changed@x.com"),
            c(None, Some("9"), "other@x.com"),
        ];
        let (pairs, rest) = pair_contacts(&desired, &existing);
        assert_eq!(
            pairs[0].existing.as_ref().unwrap().netsuite_id.as_deref(),
            Some("8")
        );
        assert_eq!(
            pairs[1].existing.as_ref().unwrap().netsuite_id.as_deref(),
            Some("7")
        );
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].netsuite_id.as_deref(), Some("9"));
    }

    #[test]
    fn diff_of_a_new_record_lists_only_set_fields() {
        let mut after = BTreeMap::new();
        after.insert("companyName".to_string(), Some("Acme".to_string()));
        after.insert("phone".to_string(), None);
        let changes = diff("netsuite.customer", None, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after, Some(serde_json::json!("Acme")));
        assert_eq!(changes[0].before, None);
    }

    #[test]
    fn diff_of_equal_views_is_empty() {
        let mut view = BTreeMap::new();
        view.insert("phone".to_string(), Some("1".to_string()));
        assert!(diff("r", Some(&view), &view).is_empty());
    }
}

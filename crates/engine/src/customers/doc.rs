//! The canonical form of a customer that both sides map into: [`CustomerDoc`].
//!
//! Salesforce Account (+Contacts) and NetSuite customer (+contacts) are each read into a
//! `CustomerDoc`; the two are compared field by field in this neutral form (so "United States"
//! and "US" are not a difference), and its [`CustomerDoc::content_hash`] is what the ID map
//! remembers per side for echo suppression. The hash covers content only, never ids, so the same
//! customer read from either side hashes the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A postal address in canonical form (street lines joined with '\n'; ISO 3166 country code).
/// Its JSON is the value of an address unit in the conflict policy and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.street.is_none()
            && self.city.is_none()
            && self.state.is_none()
            && self.postal_code.is_none()
            && self.country.is_none()
    }

    /// `Some(self)` unless every part is empty.
    pub fn non_empty(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// One contact. `ids` say where it lives; they are not content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContactDoc {
    #[serde(skip)]
    pub salesforce_id: Option<String>,
    #[serde(skip)]
    pub netsuite_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    /// Consent by unit (`email_opt_out`, `do_not_call`, `customers.consent.fields`): `true` when
    /// the person opted out. Every configured unit is present; unset checkboxes read `false`.
    pub consent: BTreeMap<String, bool>,
    /// NetSuite's `globalSubscriptionStatus` code as read (`1`…`4`), so a write keeps a status
    /// that already agrees; not content (`consent` holds what it means).
    #[serde(skip)]
    pub subscription_status: Option<String>,
}

impl ContactDoc {
    /// Content equality, ignoring ids.
    pub fn same_content(&self, other: &ContactDoc) -> bool {
        self.first_name == other.first_name
            && self.last_name == other.last_name
            && self.email == other.email
            && self.phone == other.phone
            && self.title == other.title
            && self.consent == other.consent
    }

    fn sort_key(&self) -> (String, String, String) {
        let lower = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
        (
            lower(&self.last_name),
            lower(&self.first_name),
            lower(&self.email),
        )
    }

    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (None, Some(l)) => l.clone(),
            (Some(f), None) => f.clone(),
            (None, None) => self.email.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerDoc {
    /// Mapped scalar fields by canonical name (see `customers.fields` in the config).
    pub fields: BTreeMap<String, Option<String>>,
    pub billing: Option<Address>,
    pub shipping: Option<Address>,
    pub contacts: Vec<ContactDoc>,
    /// What reading the record noticed (a country that names no country); not content.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl CustomerDoc {
    /// Contacts in a stable order, so equal content hashes equal wherever it was read.
    pub fn normalise(mut self) -> Self {
        self.contacts.sort_by_key(ContactDoc::sort_key);
        self
    }

    /// Hex SHA-256 of the canonical JSON of the content (ids excluded).
    pub fn content_hash(&self) -> String {
        let mut contacts: Vec<&ContactDoc> = self.contacts.iter().collect();
        contacts.sort_by_key(|c| c.sort_key());
        let view = serde_json::json!({
            "fields": self.fields,
            "billing": self.billing,
            "shipping": self.shipping,
            "contacts": contacts,
        });
        hex::encode(Sha256::digest(view.to_string().as_bytes()))
    }
}

/// Trims a text value; empty becomes `None`.
pub fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(first: &str, email: &str) -> ContactDoc {
        ContactDoc {
            first_name: Some(first.into()),
            last_name: Some("Doe".into()),
            email: Some(email.into()),
            ..Default::default()
        }
    }

    #[test]
    fn hash_ignores_contact_order_and_ids() {
        let a = CustomerDoc {
            contacts: vec![contact("Ann", "a@x.com"), contact("Bob", "b@x.com")],
            ..Default::default()
        };
        let mut b = a.clone();
        b.contacts.reverse();
        b.contacts[0].salesforce_id = Some("003000000000001AAA".into());
        assert_eq!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn hash_changes_with_content() {
        let mut a = CustomerDoc::default();
        a.fields.insert("name".into(), Some("Acme".into()));
        let mut b = a.clone();
        b.fields.insert("name".into(), Some("Acme Ltd".into()));
        assert_ne!(a.content_hash(), b.content_hash());
    }
}

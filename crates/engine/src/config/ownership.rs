//! Who owns each mapped field (`customers.ownership`), and what happens when both sides
//! changed it since the last sync. The semantics live in
//! [`customers::policy`](crate::customers::policy); this is only the vocabulary and its checks.

use serde::{Deserialize, Serialize};

use super::{ConfigError, CustomersConfig};

/// The consent unit of Salesforce `HasOptedOutOfEmail` ⇄ NetSuite `globalSubscriptionStatus`.
pub const EMAIL_OPT_OUT: &str = "email_opt_out";
/// The consent unit of Salesforce `DoNotCall` ⇄ `customers.consent.netsuite_do_not_call`.
pub const DO_NOT_CALL: &str = "do_not_call";

/// The address units that ownership names besides the scalar fields.
pub const ADDRESS_UNITS: [&str; 2] = ["billing", "shipping"];

/// The policy of one canonical field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// Salesforce is the source of truth: never written to Salesforce by customer → account,
    /// and its value wins a conflict.
    Salesforce,
    /// NetSuite is the source of truth: never written to NetSuite by account → customer, and
    /// its value wins a conflict.
    Netsuite,
    /// Either side may change it; a conflict goes to the side changed last.
    Latest,
    /// Either side may change it; a conflict parks the record until a person resolves it.
    Manual,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Salesforce => "salesforce",
            Self::Netsuite => "netsuite",
            Self::Latest => "latest",
            Self::Manual => "manual",
        }
    }
}

impl CustomersConfig {
    /// The policy of a canonical field (a key of `customers.fields`, `billing` or `shipping`).
    pub fn ownership_of(&self, unit: &str) -> Ownership {
        self.ownership
            .get(unit)
            .copied()
            .unwrap_or(self.default_ownership)
    }

    /// Every canonical unit ownership applies to: the mapped fields, then the addresses.
    pub fn units(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str).chain(ADDRESS_UNITS)
    }

    /// The consent units of contacts: `email_opt_out`, `do_not_call` when
    /// `customers.consent.netsuite_do_not_call` names a field, then `customers.consent.fields`.
    pub fn consent_units(&self) -> impl Iterator<Item = &str> {
        let do_not_call = (!self.consent.netsuite_do_not_call.is_empty()).then_some(DO_NOT_CALL);
        std::iter::once(EMAIL_OPT_OUT)
            .chain(do_not_call)
            .chain(self.consent.fields.keys().map(String::as_str))
    }

    /// Ownership may only name canonical units (a typo would silently fall back to the default).
    pub(super) fn validate_ownership(&self) -> Result<(), ConfigError> {
        match self.ownership.keys().find(|k| {
            !self.units().any(|u| u == k.as_str()) && !self.consent_units().any(|u| u == k.as_str())
        }) {
            Some(unknown) => Err(ConfigError::Invalid(format!(
                "customers.ownership.{unknown} names no mapped field (use a key of \
                 customers.fields, billing, shipping or a consent field)"
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{env, Config};

    #[test]
    fn ownership_defaults_to_latest_and_takes_per_field_overrides_from_env() {
        let config = Config::load_from(
            None,
            env(&[
                ("ISTHMUS_CUSTOMERS__OWNERSHIP__NAME", "netsuite"),
                ("ISTHMUS_CUSTOMERS__OWNERSHIP__BILLING", "manual"),
            ]),
        )
        .unwrap()
        .customers;
        assert_eq!(config.ownership_of("name"), Ownership::Netsuite);
        assert_eq!(config.ownership_of("billing"), Ownership::Manual);
        assert_eq!(config.ownership_of("phone"), Ownership::Latest);
    }

    #[test]
    fn ownership_of_an_unmapped_field_is_refused() {
        let err = Config::load_from(
            None,
            env(&[("ISTHMUS_CUSTOMERS__OWNERSHIP__FAX", "manual")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("customers.ownership.fax"), "{err}");
        let err = Config::load_from(None, env(&[("ISTHMUS_CUSTOMERS__OWNERSHIP__NAME", "mine")]))
            .unwrap_err();
        assert!(err.to_string().contains("mine"), "{err}");
    }
}

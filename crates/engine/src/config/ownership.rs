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

    /// A consent field's name must be its own unit (not `email_opt_out`, `do_not_call` or a
    /// customer unit, which ownership would then name twice) and name a field on both sides.
    fn validate_consent(&self) -> Result<(), ConfigError> {
        for (name, pair) in &self.consent.fields {
            let taken = [EMAIL_OPT_OUT, DO_NOT_CALL].contains(&name.as_str())
                || self.units().any(|u| u == name.as_str());
            if taken {
                return Err(ConfigError::Invalid(format!(
                    "customers.consent.fields.{name} is already a unit (email_opt_out, \
                     do_not_call, a key of customers.fields, billing or shipping): rename it"
                )));
            }
            if pair.salesforce.trim().is_empty() || pair.netsuite.trim().is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "customers.consent.fields.{name} needs both a salesforce and a netsuite field"
                )));
            }
        }
        Ok(())
    }

    /// Ownership may only name canonical units (a typo would silently fall back to the default).
    pub(super) fn validate_ownership(&self) -> Result<(), ConfigError> {
        self.validate_consent()?;
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
    fn consent_units_take_ownership_and_a_consent_field_cannot_reuse_a_unit_name() {
        let config = Config::load_from(
            None,
            env(&[("ISTHMUS_CUSTOMERS__OWNERSHIP__EMAIL_OPT_OUT", "netsuite")]),
        )
        .unwrap()
        .customers;
        assert_eq!(config.ownership_of(EMAIL_OPT_OUT), Ownership::Netsuite);
        assert_eq!(
            config.consent_units().collect::<Vec<_>>(),
            [EMAIL_OPT_OUT, DO_NOT_CALL]
        );
        for name in ["name", "do_not_call"] {
            let key = format!(
                "ISTHMUS_CUSTOMERS__CONSENT__FIELDS__{}",
                name.to_uppercase()
            );
            let (sf, ns) = (format!("{key}__SALESFORCE"), format!("{key}__NETSUITE"));
            let err = Config::load_from(
                None,
                env(&[
                    (sf.as_str(), "HasOptedOutOfFax"),
                    (ns.as_str(), "custentity_fax"),
                ]),
            )
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("customers.consent.fields.{name}")),
                "{err}"
            );
        }
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

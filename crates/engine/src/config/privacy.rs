//! Erasure of a person (`customers.privacy`): what an erasure request does on each side
//! (`anonymise`, the default, or `delete`) and the legal holds that refuse it.
//!
//! Checked when the configuration loads: an unknown mode, a hold field that is no Salesforce
//! API name or a hold customer that is no NetSuite internal id refuses to start. The request
//! itself is `customers::erasure`.

use isthmus_netsuite::NetSuiteId;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// What an erasure does to the person's record on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureMode {
    /// Overwrite the personal fields with fixed placeholders and opt out of everything; the
    /// record and its link stay, so no later sync re-creates the person.
    Anonymise,
    /// Delete the record.
    Delete,
}

impl ErasureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymise => "anonymise",
            Self::Delete => "delete",
        }
    }
}

/// `customers.privacy.erasure`: the mode of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureModes {
    pub salesforce: ErasureMode,
    pub netsuite: ErasureMode,
}

/// `customers.privacy.legal_hold`: a person under any of these holds is not erased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHold {
    /// A checkbox on Salesforce Contact (e.g. `Legal_Hold__c`); "" checks none.
    pub salesforce_contact_field: String,
    /// A checkbox on the contact's Salesforce Account; "" checks none.
    pub salesforce_account_field: String,
    /// NetSuite customers whose contacts are held.
    pub netsuite_customers: Vec<NetSuiteId>,
}

/// `customers.privacy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    pub erasure: ErasureModes,
    pub legal_hold: LegalHold,
}

impl PrivacyConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, field) in [
            (
                "salesforce_contact_field",
                &self.legal_hold.salesforce_contact_field,
            ),
            (
                "salesforce_account_field",
                &self.legal_hold.salesforce_account_field,
            ),
        ] {
            let api_name = field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !field.starts_with(|c: char| c.is_ascii_digit() || c == '_');
            if !api_name {
                return Err(ConfigError::Invalid(format!(
                    "customers.privacy.legal_hold.{key} {field:?} is no Salesforce field API name"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::ErasureMode;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_anonymise_both_sides_and_hold_nothing() {
        let config = Config::load_from(None, env(&[])).unwrap();
        let privacy = &config.customers.privacy;
        assert_eq!(privacy.erasure.salesforce, ErasureMode::Anonymise);
        assert_eq!(privacy.erasure.netsuite, ErasureMode::Anonymise);
        assert!(privacy.legal_hold.salesforce_contact_field.is_empty());
        assert!(privacy.legal_hold.netsuite_customers.is_empty());
    }

    #[test]
    fn an_unknown_mode_a_bad_field_or_a_customer_that_is_no_id_refuses_to_start() {
        let err = Config::load_from(
            None,
            env(&[("ISTHMUS_CUSTOMERS__PRIVACY__ERASURE__NETSUITE", "shred")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("shred") && err.contains("anonymise"), "{err}");
        assert!(err.contains("customers.privacy.erasure.netsuite"), "{err}");

        let err = Config::load_from(
            None,
            env(&[(
                "ISTHMUS_CUSTOMERS__PRIVACY__LEGAL_HOLD__SALESFORCE_CONTACT_FIELD",
                "Legal Hold",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("salesforce_contact_field"), "{err}");

        let err = Config::load_from(
            None,
            env(&[(
                "ISTHMUS_CUSTOMERS__PRIVACY__LEGAL_HOLD__NETSUITE_CUSTOMERS",
                "[\"x1\"]",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("netsuite_customers"), "{err}");

        let config = Config::load_from(
            None,
            env(&[
                ("ISTHMUS_CUSTOMERS__PRIVACY__ERASURE__SALESFORCE", "delete"),
                (
                    "ISTHMUS_CUSTOMERS__PRIVACY__LEGAL_HOLD__SALESFORCE_CONTACT_FIELD",
                    "Legal_Hold__c",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.customers.privacy.erasure.salesforce,
            ErasureMode::Delete
        );
    }
}

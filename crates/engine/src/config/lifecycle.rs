//! Leads, prospects and customers (`customers.lifecycle`): the stage a customer created from a
//! Salesforce account starts in, and the NetSuite customer status (`entityStatus`) of each stage.
//!
//! NetSuite keeps the three as stages of one customer record; its status decides the stage, and
//! NetSuite itself moves a lead or prospect to `CUSTOMER-Closed Won` when its first sales order is
//! created. This section only names the statuses and is checked when the configuration loads: an
//! unknown stage or a status that is no internal id refuses to start. The flows apply it
//! (`customers::account_to_customer` on create only, never on update, so an existing customer is
//! never demoted).

use isthmus_netsuite::NetSuiteId;
use serde::{Deserialize, Serialize};

/// A stage of NetSuite's sales cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Lead,
    Prospect,
    Customer,
}

/// The customer status (internal id) of each stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageStatuses {
    pub lead: NetSuiteId,
    pub prospect: NetSuiteId,
    pub customer: NetSuiteId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// The stage of a customer created for an account synced before any deal.
    pub new_account_stage: Stage,
    pub statuses: StageStatuses,
}

impl Lifecycle {
    /// The `entityStatus` a newly created customer gets.
    pub fn new_customer_status(&self) -> &NetSuiteId {
        self.status_of(self.new_account_stage)
    }

    pub fn status_of(&self, stage: Stage) -> &NetSuiteId {
        match stage {
            Stage::Lead => &self.statuses.lead,
            Stage::Prospect => &self.statuses.prospect,
            Stage::Customer => &self.statuses.customer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_create_customers_in_netsuites_closed_won_status() {
        let config = Config::load_from(None, env(&[])).unwrap();
        let lifecycle = &config.customers.lifecycle;
        assert_eq!(lifecycle.new_account_stage, Stage::Customer);
        assert_eq!(lifecycle.new_customer_status().as_str(), "13");
        assert_eq!(lifecycle.status_of(Stage::Prospect).as_str(), "8");
        assert_eq!(lifecycle.status_of(Stage::Lead).as_str(), "6");
    }

    #[test]
    fn an_unknown_stage_or_a_status_that_is_no_id_is_refused() {
        let err = Config::load_from(
            None,
            env(&[(
                "ISTHMUS_CUSTOMERS__LIFECYCLE__NEW_ACCOUNT_STAGE",
                "opportunity",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("opportunity"), "{err}");
        assert!(err.contains("lead") && err.contains("prospect"), "{err}");
        assert!(
            err.contains("customers.lifecycle.new_account_stage"),
            "{err}"
        );

        let err = Config::load_from(
            None,
            env(&[("ISTHMUS_CUSTOMERS__LIFECYCLE__STATUSES__PROSPECT", "eight")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("customers.lifecycle.statuses.prospect"),
            "{err}"
        );

        let config = Config::load_from(
            None,
            env(&[(
                "ISTHMUS_CUSTOMERS__LIFECYCLE__NEW_ACCOUNT_STAGE",
                "prospect",
            )]),
        )
        .unwrap();
        assert_eq!(
            config.customers.lifecycle.new_customer_status().as_str(),
            "8"
        );
    }
}

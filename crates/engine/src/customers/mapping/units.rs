//! Which write-body fields carry each canonical unit of the conflict policy, so a flow can
//! leave out the units the target keeps and a resolution can write one unit alone.

use std::collections::{BTreeSet, HashSet};

use super::{Record, SF_ADDRESS_PARTS};
use crate::config::CustomersConfig;

/// The body fields that carry a canonical unit on a side: a mapped field's name, a Salesforce
/// address's five parts, or NetSuite's `addressBook` (which holds both addresses).
pub fn unit_fields(config: &CustomersConfig, unit: &str, netsuite: bool) -> Vec<String> {
    match (unit, netsuite) {
        ("billing" | "shipping", true) => vec!["addressBook".into()],
        ("billing" | "shipping", false) => {
            let prefix = if unit == "billing" {
                "Billing"
            } else {
                "Shipping"
            };
            SF_ADDRESS_PARTS
                .iter()
                .map(|p| format!("{prefix}{p}"))
                .collect()
        }
        (field, _) => config
            .fields
            .get(field)
            .map(|pair| {
                vec![if netsuite {
                    pair.netsuite.clone()
                } else {
                    pair.salesforce.clone()
                }]
            })
            .unwrap_or_default(),
    }
}

/// A write body without the fields of units the target keeps (a field shared with a written
/// unit, NetSuite's `addressBook`, stays: it then carries the kept value unchanged).
pub fn without_units(
    config: &CustomersConfig,
    mut body: Record,
    kept: &BTreeSet<String>,
    netsuite: bool,
) -> Record {
    let written: HashSet<String> = config
        .units()
        .filter(|u| !kept.contains(*u))
        .flat_map(|u| unit_fields(config, u, netsuite))
        .collect();
    for unit in kept {
        for field in unit_fields(config, unit, netsuite) {
            if !written.contains(&field) {
                body.remove(&field);
            }
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::super::{account_body, customer_body, from_account};
    use super::*;
    use crate::config::Config;

    fn config() -> CustomersConfig {
        Config::load_from(None, Vec::new()).unwrap().customers
    }

    fn account() -> Record {
        let value = serde_json::json!({
            "Id": "001000000000001AAA", "Name": "Globex", "Phone": "+1 555 0100",
            "BillingCity": "Springfield", "BillingCountry": "US",
            "ShippingCity": "Shelbyville", "ShippingCountry": "US",
        });
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_kept_unit_leaves_the_write_body_unless_it_shares_a_field() {
        let config = config();
        let doc = from_account(&config, &account());
        let kept: BTreeSet<String> = ["name".to_string(), "billing".to_string()].into();
        let sf = without_units(&config, account_body(&config, &doc), &kept, false);
        assert!(!sf.contains_key("Name") && !sf.contains_key("BillingCity"));
        assert!(sf.contains_key("Phone") && sf.contains_key("ShippingCity"));
        let ns = without_units(&config, customer_body(&config, &doc), &kept, true);
        assert!(!ns.contains_key("companyName"));
        assert!(ns.contains_key("addressBook"), "shipping is still written");
        let both: BTreeSet<String> = ["billing".to_string(), "shipping".to_string()].into();
        let ns = without_units(&config, customer_body(&config, &doc), &both, true);
        assert!(!ns.contains_key("addressBook"));
    }
}

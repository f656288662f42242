//! Links into the two vendors' own UIs ("open in Salesforce", "open in NetSuite"), from the
//! configured base URLs: `gateway.salesforce_app_url` (a Lightning URL) and
//! `gateway.netsuite_app_url` (the account's `app.netsuite.com` host).

/// The base URLs the links start with (no trailing slash).
#[derive(Debug, Clone, Default)]
pub struct DeepLinks {
    pub salesforce: String,
    pub netsuite: String,
}

impl DeepLinks {
    pub fn new(salesforce: &str, netsuite: &str) -> Self {
        Self {
            salesforce: salesforce.trim_end_matches('/').to_string(),
            netsuite: netsuite.trim_end_matches('/').to_string(),
        }
    }

    /// A Salesforce record's Lightning page (`id` is a checked Salesforce id).
    pub fn salesforce_record(&self, object: &str, id: &str) -> String {
        format!("{}/lightning/r/{object}/{id}/view", self.salesforce)
    }

    /// A NetSuite record's page by record type (`customer`, `salesorder`, `item`, …) and
    /// internal id (a checked NetSuite id).
    pub fn netsuite_record(&self, record: &str, id: &str) -> String {
        let path = match record {
            "customer" => "/app/common/entity/custjob.nl",
            "salesorder" => "/app/accounting/transactions/salesord.nl",
            "invoice" => "/app/accounting/transactions/custinvc.nl",
            "item" => "/app/common/item/item.nl",
            _ => "/app/common/search/ubersearchresults.nl",
        };
        if path.ends_with("ubersearchresults.nl") {
            return format!("{}{path}?quicksearch=T&searchtype=Uber&frame=be&Uber_NAMEtype=KEYWORDSTARTSWITH&Uber_NAME={id}", self.netsuite);
        }
        format!("{}{path}?id={id}", self.netsuite)
    }
}

/// The NetSuite UI host of an account id: `1234567_SB1` → `https://1234567-sb1.app.netsuite.com`.
pub fn netsuite_app_url(account_id: &str) -> String {
    format!(
        "https://{}.app.netsuite.com",
        account_id.to_ascii_lowercase().replace('_', "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_the_record_pages() {
        let links = DeepLinks::new(
            "https://acme.lightning.force.com/",
            &netsuite_app_url("1234567_SB1"),
        );
        assert_eq!(
            links.salesforce_record("Account", "001000000000001AAA"),
            "https://acme.lightning.force.com/lightning/r/Account/001000000000001AAA/view"
        );
        assert_eq!(
            links.netsuite_record("customer", "126"),
            "https://1234567-sb1.app.netsuite.com/app/common/entity/custjob.nl?id=126"
        );
        assert!(links
            .netsuite_record("salesorder", "7")
            .ends_with("/salesord.nl?id=7"));
    }
}

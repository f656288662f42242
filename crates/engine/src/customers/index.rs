//! [`CustomerIndex`]: every NetSuite customer's matching keys, loaded once (a SuiteQL page per
//! 1,000 customers, walked by internal id so an account past SuiteQL's 100,000-row offset cap is
//! read whole, not truncated into duplicates) so a backfill matches thousands of accounts without
//! a NetSuite call each.
//! [`Matcher`] lets a flow take its candidates either live (SuiteQL per account, for single
//! syncs) or from the index.

use std::collections::{BTreeSet, HashMap};

use isthmus_netsuite::NetSuiteClient;

use super::mapping::{text, Record};
use super::matching::{domain_of, normalise_company};
use crate::config::CustomersConfig;
use crate::error::Result;

/// Where an unlinked account's candidate customers come from.
pub enum Matcher<'a> {
    /// SuiteQL per account.
    Live,
    /// A preloaded index of every customer.
    Index(&'a CustomerIndex),
}

/// The matching keys of every customer: id, external id, domains, normalised name.
#[derive(Debug, Default)]
pub struct CustomerIndex {
    rows: Vec<Record>,
    by_external: HashMap<String, usize>,
    by_domain: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

/// The columns both the live rules and the index read.
pub const MATCH_COLUMNS: &str = "id, companyname, email, url, externalid, isinactive";

impl CustomerIndex {
    pub async fn load(netsuite: &NetSuiteClient, config: &CustomersConfig) -> Result<Self> {
        let rows = netsuite
            .suiteql_by_id("id", usize::MAX, |after| {
                format!("SELECT {MATCH_COLUMNS} FROM customer WHERE id > {after} ORDER BY id")
            })
            .await?;
        Ok(Self::from_rows(config, rows))
    }

    pub fn from_rows(config: &CustomersConfig, rows: Vec<Record>) -> Self {
        let mut index = Self::default();
        for (i, row) in rows.iter().enumerate() {
            if let Some(external) = text(row, "externalid") {
                index.by_external.insert(external, i);
            }
            let domains: BTreeSet<String> = ["email", "url"]
                .iter()
                .filter_map(|f| text(row, f).and_then(|v| domain_of(&v)))
                .collect();
            for domain in domains {
                index.by_domain.entry(domain).or_default().push(i);
            }
            if let Some(name) = text(row, "companyname") {
                let key = normalise_company(config, &name);
                index.by_name.entry(key).or_default().push(i);
            }
        }
        index.rows = rows;
        index
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The internal id of the customer whose externalId is `external_id`.
    pub fn by_external_id(&self, external_id: &str) -> Option<String> {
        self.by_external
            .get(external_id)
            .and_then(|&i| text(&self.rows[i], "id"))
    }

    /// Customers with any of these domains in their e-mail or web address.
    pub fn with_domains(&self, domains: &BTreeSet<String>) -> Vec<Record> {
        let mut hits: Vec<usize> = domains
            .iter()
            .filter_map(|d| self.by_domain.get(d))
            .flatten()
            .copied()
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().map(|i| self.rows[i].clone()).collect()
    }

    /// Customers whose normalised company name is `key`.
    pub fn with_name(&self, key: &str) -> Vec<Record> {
        self.by_name
            .get(key)
            .into_iter()
            .flatten()
            .map(|&i| self.rows[i].clone())
            .collect()
    }
}

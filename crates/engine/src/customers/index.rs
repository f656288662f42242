//! [`CustomerIndex`]: NetSuite customers' matching keys, read before the accounts they match:
//!
//! - **Every customer** ([`CustomerIndex::load`]), once for a backfill: a SuiteQL page per 1,000
//!   customers, walked by internal id so an account past SuiteQL's 100,000-row offset cap is read
//!   whole, not truncated into duplicates.
//! - **A page's candidates** ([`CustomerIndex::for_accounts`]): only the customers a set of
//!   accounts may match, in a constant number of SuiteQL queries ([`super::candidates`]). The
//!   scheduled delta reads one per page; a single sync reads one for itself (a page of one).
//!
//! Either way the same rules run on the rows read, so an account matches the same customer
//! whichever way its candidates came. An index also holds the **claims** of its run: the first
//! account that takes an unlinked customer by e-mail domain or name claims it, and the customer
//! is no candidate of any other account of the run, as if the first account's write (which sets
//! the customer's external id) had already happened. Two accounts of one page never take one
//! customer between them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use isthmus_netsuite::NetSuiteClient;

use super::candidates::{candidate_queries, MatchKeys};
use super::mapping::{text, Record};
use super::matching::{domain_of, normalise_company};
use crate::config::CustomersConfig;
use crate::error::Result;

/// Where an unlinked account's candidate customers come from.
pub enum Matcher<'a> {
    /// Read for this account alone when a rule needs them (a page of one).
    Live,
    /// Read beforehand: every customer, or a page's candidates (an account the index does not
    /// cover reads its own, as [`Matcher::Live`]).
    Index(&'a CustomerIndex),
}

/// The matching keys of customers: id, external id, domains, normalised name.
#[derive(Debug, Default)]
pub struct CustomerIndex {
    rows: Vec<Record>,
    by_external: HashMap<String, usize>,
    by_domain: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    /// The accounts whose candidates were read; `None`: every customer was.
    covers: Option<HashSet<String>>,
    /// Customer internal id → the account of this run that took it.
    claims: Mutex<HashMap<String, String>>,
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

    /// The customers any of `keys` may match under the configured rules, in a constant number
    /// of SuiteQL queries (none when `keys` is empty).
    pub async fn for_accounts(
        netsuite: &NetSuiteClient,
        config: &CustomersConfig,
        keys: &[MatchKeys],
    ) -> Result<Self> {
        let mut rows: Vec<Record> = Vec::new();
        let mut seen = HashSet::new();
        for query in candidate_queries(&config.matching, keys) {
            for row in netsuite.suiteql(&query).await? {
                if seen.insert(text(&row, "id")) {
                    rows.push(row);
                }
            }
        }
        // In internal id order, as one query's `ORDER BY id` would give them.
        rows.sort_by_cached_key(|row| {
            let id = text(row, "id").unwrap_or_default();
            (id.parse::<u64>().unwrap_or(u64::MAX), id)
        });
        let mut index = Self::from_rows(config, rows);
        index.covers = Some(keys.iter().map(|k| k.account.clone()).collect());
        Ok(index)
    }

    /// Whether the candidates of `account` were read into this index.
    pub fn covers(&self, account: &str) -> bool {
        self.covers.as_ref().is_none_or(|c| c.contains(account))
    }

    /// Whether another account of this run took customer `customer`.
    pub fn claimed_by_other(&self, customer: &str, account: &str) -> bool {
        let claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        claims.get(customer).is_some_and(|a| a != account)
    }

    /// Takes customer `customer` for `account`; false when another account of this run has.
    pub fn claim(&self, customer: &str, account: &str) -> bool {
        let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        claims
            .entry(customer.to_string())
            .or_insert_with(|| account.to_string())
            == account
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

//! The matching rules' keys and their SuiteQL: which NetSuite customers may match a set of
//! unlinked accounts, read in a constant number of queries however many accounts there are.
//!
//! - **Keys.** [`MatchKeys`] holds what each rule looks for: the account id (external id rule),
//!   its company domains (e-mail domain rule) and its normalised company name (name rule).
//! - **Queries.** [`candidate_queries`] turns the keys of a whole page into SuiteQL: the external
//!   ids in `IN` lists, each domain as the e-mail/web `LIKE` pair, each name as a `LIKE` on its
//!   first word, every value through [`suiteql::literal`]. The conditions of every configured
//!   rule are OR-ed into one query, split into more only when a query would pass
//!   [`MAX_QUERY_CHARS`] or an `IN` list [`MAX_IN_LIST`] values; a page of 100 accounts is one
//!   query. A page of one (a button click) is the same code with one account.
//! - **Rules.** The SQL only narrows; [`domain_hit`] and [`name_hit`] decide, per account, on the
//!   rows read, and they include the SQL's own test, so an account matches exactly the customers
//!   its own per-account queries found before pages were read together (a row another account's
//!   condition brought in does not match this one unless its own condition holds).
//!
//! Not here: precedence between rules, ambiguity and claims (see `find_customer` and
//! [`super::index`]).

use std::collections::BTreeSet;

use isthmus_netsuite::suiteql;

use super::doc::CustomerDoc;
use super::index::MATCH_COLUMNS;
use super::mapping::{text, Record};
use super::matching::{company_domains, domain_of, normalise_company};
use crate::config::{CustomersConfig, MatchRule};

/// Characters of one candidate query at most. NetSuite documents no limit on a SuiteQL text
/// (*unconfirmed*); this keeps a query well inside any HTTP body or parser limit.
pub const MAX_QUERY_CHARS: usize = 30_000;
/// Values in one `IN` list at most (Oracle's limit, which SuiteQL runs on).
pub const MAX_IN_LIST: usize = 1000;

/// What the matching rules look for on behalf of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKeys {
    /// The account's 18-character id: the external id its customer would carry.
    pub account: String,
    /// Its company domains (website and contacts' e-mail, free-mail providers left out).
    pub domains: BTreeSet<String>,
    /// Its normalised company name (empty when it has none).
    pub name: String,
}

impl MatchKeys {
    /// The keys of an account read from Salesforce and its mapped document.
    pub fn of(config: &CustomersConfig, account: &str, row: &Record, doc: &CustomerDoc) -> Self {
        let emails = doc.contacts.iter().filter_map(|c| c.email.as_deref());
        let website = text(row, "Website");
        let name = text(row, "Name").map_or_else(String::new, |n| normalise_company(config, &n));
        Self {
            account: account.to_string(),
            domains: company_domains(config, website.as_deref(), emails),
            name,
        }
    }

    /// The first word of the normalised name: what the name rule's SQL looks for.
    pub fn name_prefix(&self) -> Option<String> {
        self.name.split_whitespace().next().map(escape_like)
    }
}

/// The SuiteQL queries that read every customer any of `keys` may match under `rules`.
pub fn candidate_queries(rules: &[MatchRule], keys: &[MatchKeys]) -> Vec<String> {
    let mut conditions = Vec::new();
    for rule in rules {
        match rule {
            MatchRule::ExternalId => {
                let ids: BTreeSet<&str> = keys.iter().map(|k| k.account.as_str()).collect();
                let ids: Vec<&str> = ids.into_iter().collect();
                for chunk in ids.chunks(MAX_IN_LIST) {
                    let list: Vec<String> = chunk.iter().map(|id| suiteql::literal(id)).collect();
                    conditions.push(format!("externalid IN ({})", list.join(", ")));
                }
            }
            MatchRule::EmailDomain => {
                let domains: BTreeSet<&String> = keys.iter().flat_map(|k| &k.domains).collect();
                conditions.extend(domains.into_iter().map(|d| domain_condition(d)));
            }
            MatchRule::CompanyName => {
                let words: BTreeSet<String> =
                    keys.iter().filter_map(MatchKeys::name_prefix).collect();
                conditions.extend(words.into_iter().map(|w| {
                    format!(
                        "LOWER(companyname) LIKE {}",
                        suiteql::literal(&format!("{w}%"))
                    )
                }));
            }
        }
    }
    pack(conditions)
}

/// The e-mail/web condition of one domain (a domain holds only `[a-z0-9.-]`: no wildcard).
fn domain_condition(domain: &str) -> String {
    format!(
        "LOWER(email) LIKE {} OR LOWER(url) LIKE {}",
        suiteql::literal(&format!("%@{domain}")),
        suiteql::literal(&format!("%{domain}%"))
    )
}

/// Conditions OR-ed into as few queries as [`MAX_QUERY_CHARS`] allows.
fn pack(conditions: Vec<String>) -> Vec<String> {
    let query = |parts: &[String]| {
        format!(
            "SELECT {MATCH_COLUMNS} FROM customer WHERE {} ORDER BY id",
            parts.join(" OR ")
        )
    };
    let overhead = query(&[]).len();
    let mut queries = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut size = overhead;
    for condition in conditions {
        let part = format!("({condition})");
        if !parts.is_empty() && size + part.len() + 4 > MAX_QUERY_CHARS {
            queries.push(query(&parts));
            parts.clear();
            size = overhead;
        }
        size += part.len() + 4;
        parts.push(part);
    }
    if !parts.is_empty() {
        queries.push(query(&parts));
    }
    queries
}

/// Whether a customer row is an e-mail domain candidate of `keys`: its e-mail ends with
/// `@domain` or its web address holds the domain (the SQL's test), and the domain of one of
/// them is one of the account's.
pub fn domain_hit(row: &Record, keys: &MatchKeys) -> bool {
    let lower = |field: &str| text(row, field).map(|v| v.to_lowercase());
    let (email, url) = (lower("email"), lower("url"));
    let narrowed = keys.domains.iter().any(|d| {
        email
            .as_deref()
            .is_some_and(|e| e.ends_with(&format!("@{d}")))
            || url.as_deref().is_some_and(|u| u.contains(d.as_str()))
    });
    let hit = |field: &str| {
        text(row, field)
            .and_then(|v| domain_of(&v))
            .is_some_and(|d| keys.domains.contains(&d))
    };
    narrowed && (hit("email") || hit("url"))
}

/// Whether a customer row is a company-name candidate of `keys`: its name starts with the
/// first word of the account's normalised name (the SQL's test) and normalises to that name.
pub fn name_hit(config: &CustomersConfig, row: &Record, keys: &MatchKeys) -> bool {
    let Some(prefix) = keys.name_prefix() else {
        return false;
    };
    text(row, "companyname").is_some_and(|n| {
        n.to_lowercase().starts_with(&prefix) && normalise_company(config, &n) == keys.name
    })
}

/// Drops LIKE wildcards from a word (normalised names hold only letters, digits and spaces,
/// but the rule must not depend on that).
fn escape_like(word: &str) -> String {
    word.chars().filter(|c| *c != '%' && *c != '_').collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn config() -> CustomersConfig {
        Config::load_from(None, Vec::new()).unwrap().customers
    }

    fn keys(account: &str, domains: &[&str], name: &str) -> MatchKeys {
        MatchKeys {
            account: account.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            name: name.into(),
        }
    }

    fn row(value: serde_json::Value) -> Record {
        serde_json::from_value(value).unwrap()
    }

    const RULES: [MatchRule; 3] = [
        MatchRule::ExternalId,
        MatchRule::EmailDomain,
        MatchRule::CompanyName,
    ];

    #[test]
    fn a_page_of_keys_is_one_query_with_every_value_escaped() {
        let page = [
            keys("001000000000001AAA", &["acme.io"], "acme"),
            keys("001000000000002AAA", &["acme.io", "o-brien.ie"], "o brien"),
            keys("001000000000003AAA", &[], ""),
        ];
        let queries = candidate_queries(&RULES, &page);
        assert_eq!(queries.len(), 1, "{queries:?}");
        let q = &queries[0];
        assert!(
            q.contains(
                "externalid IN ('001000000000001AAA', '001000000000002AAA', '001000000000003AAA')"
            ),
            "{q}"
        );
        assert_eq!(q.matches("LOWER(email) LIKE '%@acme.io'").count(), 1, "{q}");
        assert!(q.contains("LOWER(companyname) LIKE 'o%'"), "{q}");
        let quoted = keys("001000000000004AAA", &[], "l'oreal");
        let q = &candidate_queries(&[MatchRule::CompanyName], &[quoted])[0];
        assert!(q.contains("LIKE 'l''oreal%'"), "{q}");
    }

    #[test]
    fn a_long_page_splits_into_queries_under_the_size_limit() {
        let page: Vec<MatchKeys> = (0..2000)
            .map(|i| {
                keys(
                    &format!("001000000{i:06}AAA"),
                    &[&format!("company{i}.example.com")],
                    &format!("company{i}"),
                )
            })
            .collect();
        let queries = candidate_queries(&RULES, &page);
        assert!(queries.len() > 1);
        assert!(queries.iter().all(|q| q.len() <= MAX_QUERY_CHARS));
        let all = queries.join(" ");
        assert!(all.contains("'%@company1999.example.com'"));
        assert!(all.contains("'001000000001999AAA'"));
        assert!(candidate_queries(&RULES, &[]).is_empty());
    }

    #[test]
    fn a_row_matches_an_account_only_under_its_own_conditions() {
        let c = config();
        let acme = keys("001000000000001AAA", &["acme.io"], "acme");
        assert!(domain_hit(&row(json!({ "email": "AP@Acme.io" })), &acme));
        assert!(domain_hit(
            &row(json!({ "url": "https://www.acme.io/x" })),
            &acme
        ));
        // Its domain is acme.io, but the SQL of acme.io (`%@acme.io`) never read it.
        assert!(!domain_hit(
            &row(json!({ "email": "ap@www.acme.io" })),
            &acme
        ));
        assert!(!domain_hit(
            &row(json!({ "url": "https://notacme.io" })),
            &acme
        ));
        assert!(name_hit(
            &c,
            &row(json!({ "companyname": "ACME Corp." })),
            &acme
        ));
        assert!(!name_hit(
            &c,
            &row(json!({ "companyname": "-Acme" })),
            &acme
        ));
        assert!(!name_hit(
            &c,
            &row(json!({ "companyname": "Acme Tools" })),
            &acme
        ));
    }
}

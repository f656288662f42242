//! Finding the NetSuite customer of a Salesforce account: the ID map first, then the configured
//! matching rules in order (external id, e-mail domain, company name). A rule that finds more
//! than one candidate stops the search as ambiguous; nothing is linked by guess.

use isthmus_netsuite::suiteql;
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::Link;

use super::doc::CustomerDoc;
use super::index::{Matcher, MATCH_COLUMNS};
use super::mapping::{text, Record};
use super::matching::{company_domains, domain_of, normalise_company};
use super::CustomerFlows;
use crate::config::MatchRule;
use crate::error::Result;

/// How the far customer was found.
pub(super) enum Found {
    Customer {
        record: Record,
        rule: &'static str,
    },
    Ambiguous {
        rule: &'static str,
        candidates: Vec<String>,
    },
    Nothing,
}

impl CustomerFlows {
    pub(super) async fn find_customer(
        &self,
        id: &SalesforceId,
        account: &Record,
        doc: &CustomerDoc,
        link: Option<&Link>,
        matcher: &Matcher<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<Found> {
        if let Some(link) = link {
            match self.read_customer(&link.netsuite_id).await? {
                Some(record) => {
                    return Ok(Found::Customer {
                        record,
                        rule: "id_map",
                    })
                }
                None => warnings.push(format!(
                    "linked NetSuite customer {} no longer exists; matching again",
                    link.netsuite_id
                )),
            }
        }
        for rule in &self.config.matching {
            let found = match rule {
                MatchRule::ExternalId => {
                    let key = match matcher {
                        Matcher::Live => Some(format!("eid:{id}")),
                        Matcher::Index(index) => index.by_external_id(id.as_str()),
                    };
                    let record = match key {
                        Some(key) => self.read_customer(&key).await?,
                        None => None,
                    };
                    match record {
                        Some(record) => Found::Customer {
                            record,
                            rule: rule.as_str(),
                        },
                        None => Found::Nothing,
                    }
                }
                MatchRule::EmailDomain => {
                    let emails = doc.contacts.iter().filter_map(|c| c.email.as_deref());
                    let domains =
                        company_domains(&self.config, text(account, "Website").as_deref(), emails);
                    self.match_by_domain(id, &domains, matcher).await?
                }
                MatchRule::CompanyName => match text(account, "Name") {
                    Some(name) => self.match_by_name(id, &name, matcher).await?,
                    None => Found::Nothing,
                },
            };
            if !matches!(found, Found::Nothing) {
                return Ok(found);
            }
        }
        Ok(Found::Nothing)
    }

    /// Unlinked customers (no externalId, or this account's id) whose e-mail or web address has
    /// one of the account's domains.
    async fn match_by_domain(
        &self,
        id: &SalesforceId,
        domains: &std::collections::BTreeSet<String>,
        matcher: &Matcher<'_>,
    ) -> Result<Found> {
        if domains.is_empty() {
            return Ok(Found::Nothing);
        }
        let rows = match matcher {
            Matcher::Index(index) => index.with_domains(domains),
            Matcher::Live => self.domain_candidates(domains).await?,
        };
        let candidates = rows.iter().filter(|row| {
            let hit = |field: &str| {
                text(row, field)
                    .and_then(|v| domain_of(&v))
                    .is_some_and(|d| domains.contains(&d))
            };
            matchable(row, id) && (hit("email") || hit("url"))
        });
        self.one_candidate(MatchRule::EmailDomain, candidates).await
    }

    /// One SuiteQL query for the customers that may have one of `domains`.
    async fn domain_candidates(
        &self,
        domains: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Record>> {
        let conditions: Vec<String> = domains
            .iter()
            .map(|d| {
                format!(
                    "LOWER(email) LIKE {} OR LOWER(url) LIKE {}",
                    suiteql::literal(&format!("%@{d}")),
                    suiteql::literal(&format!("%{d}%"))
                )
            })
            .collect();
        let q = format!(
            "SELECT {MATCH_COLUMNS} FROM customer WHERE {} ORDER BY id",
            conditions.join(" OR ")
        );
        Ok(self.netsuite.suiteql(&q).await?)
    }

    /// Unlinked customers whose normalised company name equals the account's.
    async fn match_by_name(
        &self,
        id: &SalesforceId,
        name: &str,
        matcher: &Matcher<'_>,
    ) -> Result<Found> {
        let key = normalise_company(&self.config, name);
        let Some(first_word) = key.split_whitespace().next() else {
            return Ok(Found::Nothing);
        };
        let rows = match matcher {
            Matcher::Index(index) => index.with_name(&key),
            Matcher::Live => {
                let q = format!(
                    "SELECT {MATCH_COLUMNS} FROM customer WHERE LOWER(companyname) LIKE {} ORDER BY id",
                    suiteql::literal(&format!("{}%", escape_like(first_word)))
                );
                self.netsuite.suiteql(&q).await?
            }
        };
        let candidates = rows.iter().filter(|row| {
            matchable(row, id)
                && text(row, "companyname")
                    .is_some_and(|n| normalise_company(&self.config, &n) == key)
        });
        self.one_candidate(MatchRule::CompanyName, candidates).await
    }

    async fn one_candidate<'a>(
        &self,
        rule: MatchRule,
        candidates: impl Iterator<Item = &'a Record>,
    ) -> Result<Found> {
        let ids: Vec<String> = candidates
            .filter_map(|r| text(r, "id"))
            .filter(|i| NetSuiteId::is_valid(i))
            .collect();
        match ids.as_slice() {
            [] => Ok(Found::Nothing),
            [one] => Ok(match self.read_customer(one).await? {
                Some(record) => Found::Customer {
                    record,
                    rule: rule.as_str(),
                },
                None => Found::Nothing,
            }),
            _ => Ok(Found::Ambiguous {
                rule: rule.as_str(),
                candidates: ids,
            }),
        }
    }
}

/// A candidate may be matched when it is active and not linked to another account.
fn matchable(row: &Record, id: &SalesforceId) -> bool {
    let inactive = text(row, "isinactive").is_some_and(|v| v == "T" || v == "true");
    let external = text(row, "externalid");
    !inactive && (external.is_none() || external.as_deref() == Some(id.as_str()))
}

/// Escapes LIKE wildcards in a word (normalised names hold only letters, digits and spaces,
/// but the rule must not depend on that).
fn escape_like(word: &str) -> String {
    word.chars().filter(|c| *c != '%' && *c != '_').collect()
}

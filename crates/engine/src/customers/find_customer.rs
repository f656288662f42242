//! Finding the NetSuite customer of a Salesforce account: the ID map first, then the configured
//! matching rules in order (external id, e-mail domain, company name). A rule that finds more
//! than one candidate stops the search as ambiguous; nothing is linked by guess. The rules run on
//! candidates read beforehand (a backfill's or a delta page's [`CustomerIndex`]) or read for the
//! account alone; either way one implementation decides.

use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::Link;

use super::candidates::{domain_hit, name_hit, MatchKeys};
use super::doc::CustomerDoc;
use super::index::{CustomerIndex, Matcher};
use super::mapping::{text, Record};
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
        let keys = MatchKeys::of(&self.config, id.as_str(), account, doc);
        // Candidates read beforehand when the index covers this account, else now: the same
        // queries and rules on a page of one.
        let own;
        let index = match matcher {
            Matcher::Index(index) if index.covers(id.as_str()) => *index,
            _ => {
                own = CustomerIndex::for_accounts(
                    &self.netsuite,
                    &self.config,
                    std::slice::from_ref(&keys),
                )
                .await?;
                &own
            }
        };
        for rule in &self.config.matching {
            let found = match rule {
                MatchRule::ExternalId => match index.by_external_id(id.as_str()) {
                    Some(customer) => match self.read_customer(&customer).await? {
                        Some(record) => Found::Customer {
                            record,
                            rule: rule.as_str(),
                        },
                        None => Found::Nothing,
                    },
                    None => Found::Nothing,
                },
                MatchRule::EmailDomain => {
                    let rows = index.with_domains(&keys.domains);
                    let candidates = rows
                        .iter()
                        .filter(|row| matchable(row, id, index) && domain_hit(row, &keys));
                    self.one_candidate(*rule, id, index, candidates).await?
                }
                MatchRule::CompanyName => {
                    let rows = index.with_name(&keys.name);
                    let candidates = rows.iter().filter(|row| {
                        matchable(row, id, index) && name_hit(&self.config, row, &keys)
                    });
                    self.one_candidate(*rule, id, index, candidates).await?
                }
            };
            if !matches!(found, Found::Nothing) {
                return Ok(found);
            }
        }
        Ok(Found::Nothing)
    }

    /// One candidate is the customer (claimed for this account: see [`CustomerIndex`]); more
    /// are ambiguous.
    async fn one_candidate<'a>(
        &self,
        rule: MatchRule,
        id: &SalesforceId,
        index: &CustomerIndex,
        candidates: impl Iterator<Item = &'a Record>,
    ) -> Result<Found> {
        let ids: Vec<String> = candidates
            .filter_map(|r| text(r, "id"))
            .filter(|i| NetSuiteId::is_valid(i))
            .collect();
        match ids.as_slice() {
            [] => Ok(Found::Nothing),
            // Another account of the run took it between the filter and here.
            [one] if !index.claim(one, id.as_str()) => Ok(Found::Nothing),
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

/// A candidate may be matched when it is active, not linked to another account, and not taken
/// by another account of the run.
fn matchable(row: &Record, id: &SalesforceId, index: &CustomerIndex) -> bool {
    let inactive = text(row, "isinactive").is_some_and(|v| v == "T" || v == "true");
    let external = text(row, "externalid");
    let taken = text(row, "id").is_some_and(|c| index.claimed_by_other(&c, id.as_str()));
    !inactive && !taken && (external.is_none() || external.as_deref() == Some(id.as_str()))
}

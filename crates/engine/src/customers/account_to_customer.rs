//! Salesforce Account (+Contacts) → NetSuite customer (+contacts).

use isthmus_netsuite::suiteql;
use isthmus_proto::common::v1::{Outcome, SyncResult};
use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::soql;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::conflicts::{self, ConflictScope};
use super::doc::CustomerDoc;
use super::index::{Matcher, MATCH_COLUMNS};
use super::mapping::{self, text, Record, SF_CONTACT_FIELDS};
use super::matching::{company_domains, domain_of, normalise_company};
use super::plan::{KeyField, Plan, Target};
use super::policy::{self, Sides};
use super::{is_netsuite_id, now_ms, result, CustomerFlows, FLOW_ACCOUNT_TO_CUSTOMER, LINK_KIND};
use crate::config::MatchRule;
use crate::error::{EngineError, Result};
use crate::lock::{ensure_held, with_lock};

/// The result of syncing one account, and the write-back it still needs.
pub(crate) struct AccountSynced {
    pub result: SyncResult,
    /// The customer id to write to the account's `NetSuite_Id__c` (not there yet).
    pub write_back: Option<String>,
}

impl AccountSynced {
    fn done(result: SyncResult) -> Self {
        Self {
            result,
            write_back: None,
        }
    }
}

/// How the far customer was found.
enum Found {
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
    /// Syncs one account to NetSuite under the account's lock. A dry run takes no lock: it
    /// writes nothing, in Redis either.
    pub async fn sync_account(
        &self,
        id: &SalesforceId,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        if dry_run {
            return self.account_to_customer(id, trace_id, None).await;
        }
        let resource = format!("{LINK_KIND}:sf:{id}");
        with_lock(
            &self.store,
            &resource,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.account_to_customer(id, trace_id, Some(lease)),
        )
        .await
    }

    /// Reads the account, syncs it, and writes the customer id back to the account.
    async fn account_to_customer(
        &self,
        id: &SalesforceId,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let account = self.read_account(id).await?;
        let synced = self
            .sync_loaded_account(id, &account, trace_id, lease, &Matcher::Live)
            .await?;
        if let Some(customer_id) = &synced.write_back {
            let mut body = Map::new();
            body.insert("NetSuite_Id__c".into(), Value::String(customer_id.clone()));
            self.salesforce
                .update("Account", id.as_str(), &body)
                .await?;
        }
        Ok(synced.result)
    }

    /// Syncs an account already read (with its contacts) to NetSuite. The caller writes the
    /// customer id back to `NetSuite_Id__c` when [`AccountSynced::write_back`] asks for it, so
    /// a batch can write many back in one sObject Collections call. `lease` is `None` on a dry
    /// run.
    pub(crate) async fn sync_loaded_account(
        &self,
        id: &SalesforceId,
        account: &Record,
        trace_id: &str,
        lease: Option<Lease>,
        matcher: &Matcher<'_>,
    ) -> Result<AccountSynced> {
        let dry_run = lease.is_none();
        let doc = mapping::from_account(&self.config, account);
        let hash = doc.content_hash();
        let written_back = text(account, "NetSuite_Id__c");
        let link = self
            .store
            .link_by_salesforce(LINK_KIND, id.as_str())
            .await?;

        let mut out = result(
            FLOW_ACCOUNT_TO_CUSTOMER,
            Outcome::Unchanged,
            dry_run,
            trace_id,
        );
        out.salesforce_id = id.to_string();
        out.warnings.extend(doc.warnings.iter().cloned());
        if let Some(link) = link.as_ref().filter(|l| !l.parked.is_empty()) {
            out.outcome = Outcome::Conflict as i32;
            out.netsuite_id = link.netsuite_id.clone();
            out.matched_rule = "id_map".into();
            out.warnings.push(conflicts::parked_warning(link));
            return Ok(AccountSynced::done(out));
        }
        if let Some(link) = &link {
            if link.salesforce_hash == hash && written_back.as_deref() == Some(&link.netsuite_id) {
                out.netsuite_id = link.netsuite_id.clone();
                out.matched_rule = "id_map".into();
                return Ok(AccountSynced::done(out));
            }
        }

        let found = self
            .find_customer(id, account, &doc, link.as_ref(), matcher, &mut out.warnings)
            .await?;
        let (customer, rule) = match found {
            Found::Ambiguous { rule, candidates } => {
                out.outcome = Outcome::Conflict as i32;
                out.matched_rule = rule.into();
                out.warnings.push(format!(
                    "{} NetSuite customers match by {rule} (internal ids {}); link one by setting \
                     its externalId to {id}, then sync again",
                    candidates.len(),
                    candidates.join(", ")
                ));
                return Ok(AccountSynced::done(out));
            }
            Found::Customer { record, rule } => (Some(record), rule),
            Found::Nothing => (None, "none"),
        };
        out.matched_rule = rule.into();

        let customer_id = customer.as_ref().and_then(|c| text(c, "id"));
        let existing_contacts = match &customer_id {
            Some(cid) => self.read_customer_contacts(cid).await?,
            None => Vec::new(),
        };
        let far = customer
            .as_ref()
            .map(|c| mapping::from_customer(&self.config, c, &existing_contacts));

        let reconciled = policy::reconcile(
            &self.config,
            &Sides {
                target: Target::NetSuite,
                source: &doc,
                far: far.as_ref(),
                snapshot: link
                    .as_ref()
                    .filter(|l| rule == "id_map" && !l.fields.is_empty())
                    .map(|l| &l.fields),
                source_stamp: text(account, "SystemModstamp").as_deref(),
                far_stamp: customer
                    .as_ref()
                    .and_then(|c| text(c, "lastModifiedDate"))
                    .as_deref(),
            },
        );
        let found = conflicts::entries(
            &ConflictScope {
                flow: FLOW_ACCOUNT_TO_CUSTOMER,
                target: Target::NetSuite,
                salesforce_id: id.as_str(),
                netsuite_id: customer_id.as_deref().unwrap_or_default(),
                trace_id,
            },
            &reconciled,
        );
        out.warnings
            .extend(conflicts::warnings(&found, lease.is_none()));
        if reconciled.is_parked() {
            out.outcome = Outcome::Conflict as i32;
            out.netsuite_id = customer_id.unwrap_or_default();
            if let (Some(lease), Some(link)) = (&lease, &link) {
                ensure_held(&self.store, lease, self.config.lock_ttl()).await?;
                self.park(link, &found, lease).await?;
            }
            return Ok(AccountSynced::done(out));
        }
        let doc = reconciled.desired.clone();

        let plan = Plan::new(
            &self.config,
            Target::NetSuite,
            &doc,
            far.as_ref(),
            customer.as_ref().map(|c| KeyField {
                field: "externalId",
                current: text(c, "externalId"),
                wanted: id.as_str(),
            }),
        );
        out.outcome = plan.outcome(customer_id.is_some()) as i32;
        out.netsuite_id = customer_id.clone().unwrap_or_default();
        out.changes = plan.changes.clone();
        let Some(lease) = lease else {
            return Ok(AccountSynced::done(out)); // dry run: the plan, no writes
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;

        // Writes: customer (upsert by external id when new), contacts, link, write-back.
        let body = mapping::without_units(
            &self.config,
            mapping::customer_body(&self.config, &doc),
            &reconciled.kept,
            true,
        );
        let customer_id = match customer_id {
            None => self.create_customer(id, body).await?,
            Some(cid) => {
                if plan.record_changed {
                    let mut body = body;
                    body.insert("externalId".into(), Value::String(id.to_string()));
                    self.netsuite
                        .update("customer", &cid, &body, &["addressBook"])
                        .await?;
                }
                cid
            }
        };
        for pair in &plan.contact_writes {
            let mut body = mapping::ns_contact_body(&pair.desired, &customer_id);
            let sf_contact = pair.desired.salesforce_id.as_deref().unwrap_or_default();
            match pair.existing.as_ref().and_then(|e| e.netsuite_id.clone()) {
                Some(ns_contact) => {
                    body.insert("externalId".into(), Value::String(sf_contact.to_string()));
                    self.netsuite
                        .update("contact", &ns_contact, &body, &[])
                        .await?;
                }
                None => {
                    self.netsuite
                        .upsert("contact", sf_contact, &body, &[])
                        .await?;
                }
            }
        }

        let link = Link {
            kind: LINK_KIND.into(),
            salesforce_id: id.to_string(),
            netsuite_id: customer_id.clone(),
            salesforce_hash: hash,
            // Still apart: the customer's next event must not pass for an echo.
            netsuite_hash: if reconciled.diverged() {
                String::new()
            } else {
                plan.target_after(&doc).content_hash()
            },
            salesforce_modstamp: text(account, "SystemModstamp").unwrap_or_default(),
            netsuite_modstamp: customer
                .as_ref()
                .and_then(|c| text(c, "lastModifiedDate"))
                .unwrap_or_default(),
            synced_at_ms: now_ms(),
            fields: reconciled.snapshot,
            parked: Vec::new(),
        };
        self.store.put_link(&link, &lease).await?;
        self.record_conflicts(&found).await?;
        let write_back =
            (written_back.as_deref() != Some(customer_id.as_str())).then(|| customer_id.clone());
        out.netsuite_id = customer_id;
        Ok(AccountSynced {
            result: out,
            write_back,
        })
    }

    /// The account with its contacts, in one SOQL query.
    pub(super) async fn read_account(&self, id: &SalesforceId) -> Result<Record> {
        let fields = mapping::account_fields(&self.config).join(", ");
        let q = format!(
            "SELECT {fields}, (SELECT {} FROM Contacts ORDER BY CreatedDate, Id) FROM Account WHERE Id = {}",
            SF_CONTACT_FIELDS.join(", "),
            soql::literal(id.as_str())
        );
        let mut rows = self.salesforce.query(&q).await?;
        if rows.is_empty() {
            return Err(EngineError::NotFound(format!(
                "Salesforce account {id} does not exist"
            )));
        }
        Ok(rows.swap_remove(0))
    }

    /// Creates the customer by upserting on its external id (the account id), so a retry after
    /// a lost answer updates the same customer instead of creating a second one.
    async fn create_customer(&self, id: &SalesforceId, mut body: Record) -> Result<String> {
        body.insert(
            "subsidiary".into(),
            json!({ "id": self.config.default_subsidiary }),
        );
        let location = self
            .netsuite
            .upsert("customer", id.as_str(), &body, &["addressBook"])
            .await?;
        if let Some(internal) = location {
            return Ok(internal);
        }
        let created = self
            .read_customer(&format!("eid:{id}"))
            .await?
            .ok_or_else(|| {
                EngineError::Unprocessable(format!("NetSuite lost the customer created for {id}"))
            })?;
        text(&created, "id")
            .ok_or_else(|| EngineError::Unprocessable("NetSuite customer without an id".into()))
    }

    async fn find_customer(
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
            .filter(|i| is_netsuite_id(i))
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

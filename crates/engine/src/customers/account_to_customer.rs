//! Salesforce Account (+Contacts) → NetSuite customer (+contacts).

use crate::result::{Outcome, SyncResult};
use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::soql;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::conflicts::{self, ConflictScope, Decided};
use super::doc::CustomerDoc;
use super::find_customer::Found;
use super::index::Matcher;
use super::mapping::{self, text, Record};
use super::plan::{KeyField, Plan, Target};
use super::policy::{Reconciled, Sides};
use super::{now_ms, CustomerFlows, FLOW_ACCOUNT_TO_CUSTOMER, LINK_KIND};
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};

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

/// What a planned sync of an account writes.
struct Written<'a> {
    id: &'a SalesforceId,
    account: &'a Record,
    /// The customer found, `None` for a new one.
    customer: Option<&'a Record>,
    plan: &'a Plan,
    doc: &'a CustomerDoc,
    /// The account's content hash, kept as the link's Salesforce hash.
    hash: String,
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
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{LINK_KIND}:sf:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.account_to_customer(id, trace_id, lease),
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

        let mut out = SyncResult::new(
            FLOW_ACCOUNT_TO_CUSTOMER,
            Outcome::Unchanged,
            dry_run,
            trace_id,
        );
        out.salesforce_id = id.to_string();
        out.warnings.extend(doc.warnings.iter().cloned());
        if let Some(link) = link.as_ref().filter(|l| !l.parked.is_empty()) {
            out.outcome = Outcome::Conflict;
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
                ambiguous(&mut out, id, rule, &candidates);
                return Ok(AccountSynced::done(out));
            }
            Found::Customer { record, rule } => (Some(record), rule),
            Found::Nothing => (None, "none"),
        };
        out.matched_rule = rule.into();

        let customer_id = customer.as_ref().and_then(|c| text(c, "id"));
        let far = self.far_customer(customer.as_ref()).await?;

        let scope = ConflictScope {
            flow: FLOW_ACCOUNT_TO_CUSTOMER,
            target: Target::NetSuite,
            salesforce_id: id.as_str(),
            netsuite_id: customer_id.as_deref().unwrap_or_default(),
            trace_id,
        };
        let sides = Sides {
            target: Target::NetSuite,
            source: &doc,
            far: far.as_ref(),
            snapshot: link
                .as_ref()
                .filter(|l| rule == "id_map" && !l.fields.is_empty())
                .map(|l| &l.fields),
            source_stamp: text(account, "SystemModstamp"),
            far_stamp: customer.as_ref().and_then(|c| text(c, "lastModifiedDate")),
        };
        let decided = self
            .decide(&scope, &sides, link.as_ref(), lease.as_ref(), &mut out)
            .await?;
        let Some(Decided {
            reconciled,
            resolved,
        }) = decided
        else {
            out.netsuite_id = customer_id.unwrap_or_default();
            return Ok(AccountSynced::done(out)); // parked
        };
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
        out.outcome = plan.outcome(customer_id.is_some());
        out.netsuite_id = customer_id.clone().unwrap_or_default();
        out.changes = plan.changes.clone();
        let Some(lease) = lease else {
            return Ok(AccountSynced::done(out)); // dry run: the plan, no writes
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let customer_id = self
            .write_customer(
                Written {
                    id,
                    account,
                    customer: customer.as_ref(),
                    plan: &plan,
                    doc: &doc,
                    hash,
                },
                reconciled,
                &lease,
            )
            .await?;
        self.record_conflicts(&resolved).await?;
        let write_back =
            (written_back.as_deref() != Some(customer_id.as_str())).then(|| customer_id.clone());
        out.netsuite_id = customer_id;
        Ok(AccountSynced {
            result: out,
            write_back,
        })
    }

    /// The customer found, as the canonical document with its contacts (one SuiteQL read).
    async fn far_customer(&self, customer: Option<&Record>) -> Result<Option<CustomerDoc>> {
        let Some(customer) = customer else {
            return Ok(None);
        };
        let contacts = match text(customer, "id") {
            Some(id) => self.read_customer_contacts(&id).await?,
            None => Vec::new(),
        };
        Ok(Some(mapping::from_customer(
            &self.config,
            customer,
            &contacts,
        )))
    }

    /// The writes of a planned sync, under `lease`: the customer (an upsert by external id when
    /// new, in the account's subsidiary), its contacts, then the link with both hashes and the
    /// field snapshot. The customer's internal id.
    async fn write_customer(
        &self,
        written: Written<'_>,
        reconciled: Reconciled,
        lease: &Lease,
    ) -> Result<String> {
        let Written {
            id,
            account,
            customer,
            plan,
            doc,
            hash,
        } = written;
        let customer_id = customer.and_then(|c| text(c, "id"));
        let body = mapping::without_units(
            &self.config,
            mapping::customer_body(&self.config, doc),
            &reconciled.kept,
            true,
        );
        let customer_id = match customer_id {
            None => {
                let subsidiary = self.subsidiary_of_account(account).await?;
                self.create_customer(id, body, &subsidiary).await?
            }
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
            let mut body = mapping::ns_contact_body(&self.config, &pair.desired, &customer_id);
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
            netsuite_hash: if reconciled.diverged() || plan.diverged() {
                String::new()
            } else {
                plan.target_after(doc).content_hash()
            },
            salesforce_modstamp: text(account, "SystemModstamp").unwrap_or_default(),
            netsuite_modstamp: customer
                .and_then(|c| text(c, "lastModifiedDate"))
                .unwrap_or_default(),
            synced_at_ms: now_ms(),
            fields: reconciled.snapshot,
            parked: Vec::new(),
        };
        self.store.put_link(&link, lease).await?;
        Ok(customer_id)
    }

    /// The account with its contacts, in one SOQL query.
    /// The NetSuite subsidiary a new customer of `account` belongs to: the one its
    /// `Subsidiary__c` record is linked to (the subsidiaries flow links them), else
    /// `customers.default_subsidiary`. A subsidiary is set when a customer is created only:
    /// NetSuite does not move a customer with transactions to another subsidiary.
    async fn subsidiary_of_account(&self, account: &Record) -> Result<String> {
        let Some(record) = text(account, "Subsidiary__c") else {
            return Ok(self.config.default_subsidiary.clone());
        };
        let link = self
            .store
            .link_by_salesforce(crate::finance::SUBSIDIARY_LINK_KIND, &record)
            .await?;
        Ok(link.map_or_else(
            || self.config.default_subsidiary.clone(),
            |link| link.netsuite_id,
        ))
    }

    pub(super) async fn read_account(&self, id: &SalesforceId) -> Result<Record> {
        let fields = mapping::account_fields(&self.config).join(", ");
        let q = format!(
            "SELECT {fields}, (SELECT {} FROM Contacts ORDER BY CreatedDate, Id) FROM Account WHERE Id = {}",
            mapping::sf_contact_fields(&self.config).join(", "),
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
    /// a lost answer updates the same customer instead of creating a second one. It starts in
    /// the configured stage's status (`customers.lifecycle`); updates never send a status, so an
    /// existing customer is never demoted.
    async fn create_customer(
        &self,
        id: &SalesforceId,
        mut body: Record,
        subsidiary: &str,
    ) -> Result<String> {
        body.insert("subsidiary".into(), json!({ "id": subsidiary }));
        let status = self.config.lifecycle.new_customer_status();
        body.insert("entityStatus".into(), json!({ "id": status.as_str() }));
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
}

/// More than one customer matches: a conflict for a person, who links one by its external id.
fn ambiguous(out: &mut SyncResult, id: &SalesforceId, rule: &str, candidates: &[String]) {
    out.outcome = Outcome::Conflict;
    out.matched_rule = rule.into();
    out.warnings.push(format!(
        "{} NetSuite customers match by {rule} (internal ids {}); link one by setting its \
         externalId to {id}, then sync again",
        candidates.len(),
        candidates.join(", ")
    ));
}

//! NetSuite customer (+contacts) → Salesforce Account (+Contacts), from a User Event or a call.

use std::collections::BTreeSet;

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_salesforce::soql;
use isthmus_salesforce::{
    composite_batches, ApiError, CompositeSubrequest, CompositeSubresponse, SalesforceError,
};
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::conflicts::{self, ConflictScope, Decided};
use super::mapping::{self, text, Record};
use super::plan::{KeyField, Plan, Target};
use super::policy::Sides;
use super::{now_ms, CustomerChange, CustomerFlows, FLOW_CUSTOMER_TO_ACCOUNT, LINK_KIND};
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};

impl CustomerFlows {
    /// Syncs one customer to Salesforce under the customer's lock. A delete unlinks the account:
    /// its `NetSuite_Id__c` is cleared and the ID-map entry removed (the account itself stays),
    /// but only once NetSuite confirms the customer is gone (one GET answered 404): a delete
    /// event for a customer that still exists is refused (`UNPROCESSABLE`), nothing unlinked.
    pub async fn sync_customer(
        &self,
        id: &NetSuiteId,
        change: CustomerChange,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let id = id.as_str();
        let run = |lease: Option<Lease>| async move {
            match change {
                CustomerChange::Upsert => self.customer_to_account(id, trace_id, lease).await,
                CustomerChange::Delete => self.unlink_deleted_customer(id, trace_id, lease).await,
            }
        };
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{LINK_KIND}:ns:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            run,
        )
        .await
    }

    async fn customer_to_account(
        &self,
        id: &str,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let dry_run = lease.is_none();
        let customer = self.read_customer(id).await?.ok_or_else(|| {
            EngineError::NotFound(format!("NetSuite customer {id} does not exist"))
        })?;
        let contacts = self.read_customer_contacts(id).await?;
        let doc = mapping::from_customer(&self.config, &customer, &contacts);
        let hash = doc.content_hash();
        let link = self.store.link_by_netsuite(LINK_KIND, id).await?;

        let mut out = SyncResult::new(
            FLOW_CUSTOMER_TO_ACCOUNT,
            Outcome::Unchanged,
            dry_run,
            trace_id,
        );
        out.netsuite_id = id.to_string();
        if let Some(link) = &link {
            out.salesforce_id = link.salesforce_id.clone();
            out.matched_rule = "id_map".into();
            if !link.parked.is_empty() {
                out.outcome = Outcome::Conflict;
                out.warnings.push(conflicts::parked_warning(link));
                return Ok(out);
            }
            if link.netsuite_hash == hash {
                return Ok(out);
            }
        }

        // The account: the linked one, else the one named by the customer's externalId, else the
        // one already carrying this customer's id in NetSuite_Id__c.
        let linked = link.as_ref().map(|l| l.salesforce_id.clone());
        let external = text(&customer, "externalId")
            .and_then(|e| SalesforceId::parse(&e).ok())
            .filter(|e| e.is(SObject::Account))
            .map(|e| e.to_string());
        let account = self
            .find_account(id, linked.as_deref().or(external.as_deref()))
            .await?;
        out.matched_rule = match (&account, &linked, &external) {
            (None, _, _) => "none",
            (Some(_), Some(_), _) => "id_map",
            (Some(a), None, Some(e)) if text(a, "Id").as_deref() == Some(e.as_str()) => {
                "external_id"
            }
            (Some(_), _, _) => "netsuite_id",
        }
        .into();
        let account_id = account.as_ref().and_then(|a| text(a, "Id"));
        let far = account
            .as_ref()
            .map(|a| mapping::from_account(&self.config, a));

        let scope = ConflictScope {
            flow: FLOW_CUSTOMER_TO_ACCOUNT,
            target: Target::Salesforce,
            salesforce_id: account_id.as_deref().unwrap_or_default(),
            netsuite_id: id,
            trace_id,
        };
        let sides = Sides {
            target: Target::Salesforce,
            source: &doc,
            far: far.as_ref(),
            snapshot: link
                .as_ref()
                .filter(|l| !l.fields.is_empty() && account_id.as_deref() == Some(&l.salesforce_id))
                .map(|l| &l.fields),
            source_stamp: text(&customer, "lastModifiedDate"),
            far_stamp: account.as_ref().and_then(|a| text(a, "SystemModstamp")),
        };
        let decided = self
            .decide(&scope, &sides, link.as_ref(), lease.as_ref(), &mut out)
            .await?;
        let Some(Decided {
            reconciled,
            resolved,
        }) = decided
        else {
            return Ok(out); // parked
        };
        let doc = reconciled.desired.clone();

        let plan = Plan::new(
            &self.config,
            Target::Salesforce,
            &doc,
            far.as_ref(),
            Some(KeyField {
                field: "NetSuite_Id__c",
                current: account.as_ref().and_then(|a| text(a, "NetSuite_Id__c")),
                wanted: id,
            }),
        );
        out.outcome = plan.outcome(account_id.is_some());
        out.salesforce_id = account_id.clone().unwrap_or_default();
        out.changes = plan.changes.clone();
        let subsidiary = self
            .subsidiary_change(&customer, account.as_ref(), &mut out)
            .await?;
        let Some(lease) = lease else {
            return Ok(out); // dry run: the plan, no writes
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;

        let account_id = self
            .write_account(id, account_id, &doc, &plan, &reconciled.kept, subsidiary)
            .await?;

        let link = Link {
            kind: LINK_KIND.into(),
            salesforce_id: account_id.clone(),
            netsuite_id: id.to_string(),
            // Still apart: the account's next sync must not pass for an echo.
            salesforce_hash: if reconciled.diverged() || plan.diverged() {
                String::new()
            } else {
                plan.target_after(&doc).content_hash()
            },
            netsuite_hash: hash,
            salesforce_modstamp: account
                .as_ref()
                .and_then(|a| text(a, "SystemModstamp"))
                .unwrap_or_default(),
            netsuite_modstamp: text(&customer, "lastModifiedDate").unwrap_or_default(),
            synced_at_ms: now_ms(),
            fields: reconciled.snapshot,
            parked: Vec::new(),
        };
        self.store.put_link(&link, &lease).await?;
        self.record_conflicts(&resolved).await?;
        out.salesforce_id = account_id;
        Ok(out)
    }

    /// The `Subsidiary__c` the account should point to when it does not yet: the
    /// `Subsidiary__c` record linked to the customer's subsidiary (the subsidiaries flow links
    /// them; an unlinked subsidiary leaves the account as it is). Noted in `out` as a change.
    async fn subsidiary_change(
        &self,
        customer: &Record,
        account: Option<&Record>,
        out: &mut SyncResult,
    ) -> Result<Option<String>> {
        let Some(subsidiary) = customer
            .get("subsidiary")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let Some(link) = self
            .store
            .link_by_netsuite(crate::finance::SUBSIDIARY_LINK_KIND, subsidiary)
            .await?
        else {
            return Ok(None);
        };
        let current = account.and_then(|a| text(a, "Subsidiary__c"));
        if current.as_deref() == Some(link.salesforce_id.as_str()) {
            return Ok(None);
        }
        out.changes.push(FieldChange {
            record: "salesforce.Account".into(),
            field: "Subsidiary__c".into(),
            before: current.map(|c| json!(c)),
            after: Some(json!(link.salesforce_id)),
        });
        if out.outcome == Outcome::Unchanged {
            out.outcome = Outcome::Updated;
        }
        Ok(Some(link.salesforce_id))
    }

    /// One SOQL query: the account with `Id = known` or `NetSuite_Id__c = customer id`.
    async fn find_account(&self, customer_id: &str, known: Option<&str>) -> Result<Option<Record>> {
        let fields = mapping::account_fields(&self.config).join(", ");
        let mut condition = format!("NetSuite_Id__c = {}", soql::literal(customer_id));
        if let Some(known) = known {
            condition = format!("Id = {} OR {condition}", soql::literal(known));
        }
        let q = format!(
            "SELECT {fields}, (SELECT {} FROM Contacts ORDER BY CreatedDate, Id) FROM Account WHERE {condition} ORDER BY CreatedDate, Id",
            mapping::sf_contact_fields(&self.config).join(", ")
        );
        let rows = self.salesforce.query(&q).await?;
        // Prefer the account the link or externalId names.
        let preferred = known.and_then(|k| {
            rows.iter()
                .position(|r| text(r, "Id").as_deref() == Some(k))
        });
        Ok(preferred
            .or((!rows.is_empty()).then_some(0))
            .map(|i| rows[i].clone()))
    }

    async fn unlink_deleted_customer(
        &self,
        id: &str,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let dry_run = lease.is_none();
        let mut out = SyncResult::new(
            FLOW_CUSTOMER_TO_ACCOUNT,
            Outcome::Skipped,
            dry_run,
            trace_id,
        );
        out.netsuite_id = id.to_string();
        let Some(link) = self.store.link_by_netsuite(LINK_KIND, id).await? else {
            out.warnings.push(format!(
                "NetSuite customer {id} is not linked to a Salesforce account"
            ));
            return Ok(out);
        };
        // Believe no event: a stale, replayed or forged delete must not drop a live link.
        if self.read_customer(id).await?.is_some() {
            return Err(EngineError::Unprocessable(format!(
                "NetSuite customer {id} still exists: the delete event is stale or forged, \
                 so Salesforce account {} stays linked; nothing was changed",
                link.salesforce_id
            )));
        }
        out.salesforce_id = link.salesforce_id.clone();
        out.matched_rule = "id_map".into();
        out.outcome = Outcome::Updated;
        out.changes.push(FieldChange {
            record: "salesforce.Account".into(),
            field: "NetSuite_Id__c".into(),
            before: Some(json!(id)),
            after: None,
        });
        let Some(lease) = lease else {
            return Ok(out); // dry run: the plan, no writes
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let mut body = Map::new();
        body.insert("NetSuite_Id__c".into(), Value::Null);
        match self
            .salesforce
            .update("Account", &link.salesforce_id, &body)
            .await
        {
            Ok(()) => {}
            Err(err) if err.is_not_found() => out.warnings.push(format!(
                "Salesforce account {} no longer exists",
                link.salesforce_id
            )),
            Err(err) => return Err(err.into()),
        }
        self.store
            .delete_link(LINK_KIND, &link.salesforce_id, &lease)
            .await?;
        Ok(out)
    }

    /// Writes the account and its contacts through Composite: one Salesforce call for the
    /// account and up to 24 contacts (another per further 25 contacts), all-or-none per call.
    /// Creates are upserts on `NetSuite_Id__c`, so a retry finds what a lost answer created;
    /// a new account's contacts reference it as `@{account.id}`.
    async fn write_account(
        &self,
        customer_id: &str,
        account_id: Option<String>,
        doc: &super::CustomerDoc,
        plan: &super::plan::Plan,
        kept: &BTreeSet<String>,
        subsidiary: Option<String>,
    ) -> Result<String> {
        let mut requests = Vec::new();
        let mut body = mapping::without_units(
            &self.config,
            mapping::account_body(&self.config, doc),
            kept,
            false,
        );
        let subsidiary_changed = subsidiary.is_some();
        if let Some(subsidiary) = subsidiary {
            body.insert("Subsidiary__c".into(), Value::String(subsidiary));
        }
        let account_ref = match &account_id {
            None => {
                let url = format!(
                    "sobjects/Account/NetSuite_Id__c/{}",
                    path_segment(customer_id)
                );
                requests.push(
                    CompositeSubrequest::new("PATCH", url, "account")
                        .with_body(Value::Object(body)),
                );
                "@{account.id}".to_string()
            }
            Some(aid) => {
                if plan.record_changed || subsidiary_changed {
                    body.insert(
                        "NetSuite_Id__c".into(),
                        Value::String(customer_id.to_string()),
                    );
                    let url = format!("sobjects/Account/{aid}");
                    requests.push(
                        CompositeSubrequest::new("PATCH", url, "account")
                            .with_body(Value::Object(body)),
                    );
                }
                aid.clone()
            }
        };
        for (i, pair) in plan.contact_writes.iter().enumerate() {
            let mut body =
                mapping::sf_contact_body(&self.config, &pair.desired, Some(&account_ref));
            let reference = format!("contact{i}");
            let request = match (
                pair.existing.as_ref().and_then(|e| e.salesforce_id.clone()),
                &pair.desired.netsuite_id,
            ) {
                (Some(sf_contact), ns_contact) => {
                    if let Some(ns_contact) = ns_contact {
                        body.insert("NetSuite_Id__c".into(), Value::String(ns_contact.clone()));
                    }
                    CompositeSubrequest::new(
                        "PATCH",
                        format!("sobjects/Contact/{sf_contact}"),
                        reference,
                    )
                }
                (None, Some(ns_contact)) => {
                    let url = format!(
                        "sobjects/Contact/NetSuite_Id__c/{}",
                        path_segment(ns_contact)
                    );
                    CompositeSubrequest::new("PATCH", url, reference)
                }
                (None, None) => CompositeSubrequest::new("POST", "sobjects/Contact", reference),
            };
            requests.push(request.with_body(Value::Object(body)));
        }

        let mut account_id = account_id;
        for mut chunk in composite_batches(requests) {
            if let Some(known) = &account_id {
                // Later chunks cannot see `@{account.id}` of an earlier call.
                for request in &mut chunk {
                    if let Some(Value::Object(body)) = &mut request.body {
                        if body.get("AccountId").and_then(Value::as_str) == Some("@{account.id}") {
                            body.insert("AccountId".into(), Value::String(known.clone()));
                        }
                    }
                }
            }
            let answers = self.salesforce.composite(chunk, true).await?;
            if let Some(failed) = answers
                .iter()
                .find(|a| !a.is_success() && !is_rolled_back(a))
            {
                return Err(composite_error(failed));
            }
            if account_id.is_none() {
                let created = answers
                    .iter()
                    .find(|a| a.reference_id == "account")
                    .and_then(|a| a.body.get("id").and_then(Value::as_str))
                    .ok_or_else(|| {
                        EngineError::Unprocessable(
                            "Salesforce did not return the account's id".into(),
                        )
                    })?;
                account_id = Some(created.to_string());
            }
        }
        account_id.ok_or_else(|| EngineError::Unprocessable("no account id after writing".into()))
    }
}

/// An external id value as one URL path segment (RFC 3986 unreserved characters kept).
fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A subrequest that only failed because another one did (all-or-none).
fn is_rolled_back(answer: &CompositeSubresponse) -> bool {
    let errors = answer_errors(answer);
    !errors.is_empty()
        && errors.iter().all(|e| {
            matches!(
                e.error_code.as_str(),
                "PROCESSING_HALTED" | "ALL_OR_NONE_OPERATION_ROLLED_BACK"
            )
        })
}

fn answer_errors(answer: &CompositeSubresponse) -> Vec<ApiError> {
    serde_json::from_value(answer.body.clone()).unwrap_or_default()
}

fn composite_error(answer: &CompositeSubresponse) -> EngineError {
    EngineError::Salesforce(SalesforceError::Api {
        status: answer.http_status_code,
        errors: answer_errors(answer),
    })
}

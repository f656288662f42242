//! Won Opportunity (+ line items) → NetSuite sales order, in steps: the plan (`plan.rs`: read,
//! check, map), the customer ensured through the customers service, the comparison with the order
//! NetSuite holds (`order_body.rs`), the upsert by external id, and the record on both sides
//! (link, and id, number and status written back to the Opportunity).
//!
//! NetSuite calls: an unchanged Opportunity (its content hash on the link, the write-back in
//! place) costs none; a never-linked one costs two, the upsert and the read-back of its number
//! and status, because the upsert by external id is itself the idempotent create. Whenever an
//! order may exist without a link (a write intent left by an attempt whose answer was lost or
//! whose process died before the link; an id written back but no link), the order is read by
//! external id and compared first, as a linked one is by id: three calls, and an order whose
//! fulfilment has begun is never changed blindly. A dry run always reads, and writes nothing.

use crate::result::{Outcome, SyncResult};
use isthmus_netsuite::GetOptions;
use isthmus_proto::common::v1::{Delivery, SyncOptions};
use isthmus_proto::customers::v1::SyncAccountRequest;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};
use std::time::Duration;

use super::order_body::order_changes;
use super::{hash, ref_name, OrderFlows, FLOW_OPPORTUNITY_TO_ORDER, LINK_KIND};
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};

/// The line item record as dry runs and errors name it.
pub(super) const NS_ORDER: &str = "netsuite.salesOrder";

impl OrderFlows {
    /// "Sync to NetSuite" on one Opportunity, under the Opportunity's lock. A dry run takes no
    /// lock and writes nothing, in Redis either.
    pub async fn sync_opportunity(
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
            |lease| self.opportunity_to_order(id, trace_id, lease),
        )
        .await
    }

    /// The flow, in steps: read and check the Opportunity (`plan_order`), settle an unchanged
    /// one by its hash, ensure the customer, compare with the order NetSuite holds
    /// (`compare_with_order`), then, unless a dry run, write the order (`write_order`) and
    /// record it on both sides (`record_order`).
    async fn opportunity_to_order(
        &self,
        id: &SalesforceId,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let dry_run = lease.is_none();
        let opportunity = self.read_opportunity(id).await?;
        let link = self
            .store
            .link_by_salesforce(LINK_KIND, id.as_str())
            .await?;
        let plan = self.plan_order(id, &opportunity).await?;

        let mut out = SyncResult::new(
            FLOW_OPPORTUNITY_TO_ORDER,
            Outcome::Unchanged,
            dry_run,
            trace_id,
        );
        out.salesforce_id = id.to_string();
        out.warnings = plan.warnings.clone();
        let written_back = text(&opportunity, "NetSuite_Id__c");
        if let Some(link) = &link {
            if link.salesforce_hash == plan.hash
                && written_back.as_deref() == Some(link.netsuite_id.as_str())
            {
                out.netsuite_id = link.netsuite_id.clone();
                out.matched_rule = "id_map".into();
                return Ok(out);
            }
        }

        // A won opportunity's synced quote, when its estimate is linked, makes the new order.
        let synced_estimate = self
            .synced_estimate(&opportunity, &mut out.warnings)
            .await?;
        if let (Some(from), None) = (&synced_estimate, &link) {
            out.warnings.push(format!(
                "a new order is made from estimate {} of synced quote {}",
                from.estimate_id, from.quote_id
            ));
        }
        // The account's customer, through the customers service (a dry run asks for a dry run).
        let customer_id = self.ensure_customer(&plan.account_id, dry_run).await?;
        let mut body = plan.body.clone();
        match &customer_id {
            Some(customer) => {
                body.insert("entity".into(), json!({ "id": customer }));
            }
            None => out.warnings.push(format!(
                "the customer of account {} does not exist yet; the sync creates it first",
                plan.account_id
            )),
        }
        // A never-linked opportunity needs no read: the upsert by external id is the idempotent
        // create. "Never" is the link, the write-back and the write intent all absent; any of
        // them (a lost answer, a crash before the link, a lost ID map) and the order NetSuite
        // holds is read and compared first, as for a linked one. A dry run always reads.
        let never_linked = !dry_run
            && link.is_none()
            && written_back.is_none()
            && !self.write_intended(id).await?;
        let existing_id = if never_linked {
            out.matched_rule = "none".into();
            out.changes = order_changes(&body, None);
            out.outcome = Outcome::Created;
            None
        } else {
            self.compare_with_order(id, link.as_ref(), &body, &mut out)
                .await?
        };
        let Some(lease) = lease else {
            return Ok(out); // dry run: the order that would be written, nothing more
        };
        let customer_id = customer_id.ok_or_else(|| {
            EngineError::Unprocessable(format!(
                "the customers service returned no customer for account {}",
                plan.account_id
            ))
        })?;
        body.insert("entity".into(), json!({ "id": customer_id }));
        let promote = existing_id.is_none() && self.needs_promotion(&customer_id).await?;
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let order_key = match (
            existing_id,
            out.outcome == Outcome::Updated,
            &synced_estimate,
        ) {
            (Some(order_id), false, _) => order_id,
            (None, _, Some(from)) => {
                self.intend_write(id).await?;
                self.order_from_estimate(id.as_str(), body, from).await?
            }
            (existing_id, _, _) => {
                if existing_id.is_none() {
                    self.intend_write(id).await?;
                }
                self.write_order(id, body, existing_id).await?
            }
        };
        if promote {
            self.promote(&customer_id).await?;
        }
        // A skipped change stays unsynced, so the next click reports it again.
        let salesforce_hash = match (&link, out.outcome == Outcome::Skipped) {
            (Some(link), true) => link.salesforce_hash.clone(),
            (None, true) => String::new(),
            (_, false) => plan.hash,
        };
        let order_id = self
            .record_order(id, &opportunity, &order_key, salesforce_hash, &lease)
            .await?;
        if link.is_none() {
            // The link now says what the intent said (and more): the intent would only sit in
            // the store for its TTL, one key per order ever created.
            self.store.clear_status(&write_intent_name(id)).await?;
        }
        out.netsuite_id = order_id;
        Ok(out)
    }

    /// Finds the order NetSuite holds (by link, else by external id), fills in `out` (the
    /// matching rule, the field changes, the outcome) and refuses a change to an order whose
    /// fulfilment or billing has begun (`skipped`). The existing order's id.
    async fn compare_with_order(
        &self,
        id: &SalesforceId,
        link: Option<&Link>,
        body: &Record,
        out: &mut SyncResult,
    ) -> Result<Option<String>> {
        let existing = match link {
            Some(link) => self.read_order(&link.netsuite_id).await?,
            None => self.read_order(&format!("eid:{id}")).await?,
        };
        out.matched_rule = match (link, &existing) {
            (Some(_), _) => "id_map",
            (None, Some(_)) => "external_id",
            (None, None) => "none",
        }
        .into();
        out.changes = order_changes(body, existing.as_ref());
        let existing_id = existing.as_ref().and_then(|o| text(o, "id"));
        out.netsuite_id = existing_id.clone().unwrap_or_default();
        out.outcome = match (&existing, out.changes.is_empty()) {
            (None, _) => Outcome::Created,
            (Some(_), false) => Outcome::Updated,
            (Some(_), true) => Outcome::Unchanged,
        };
        if let Some(order) = &existing {
            let status = order
                .get("status")
                .and_then(|s| s.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !out.changes.is_empty() && !self.config.updatable_statuses.contains(&status) {
                out.outcome = Outcome::Skipped;
                out.warnings.push(format!(
                    "sales order {} is {}: once fulfilment or billing has begun, changes on the \
                     Opportunity are not carried over; change the order in NetSuite",
                    text(order, "tranId").unwrap_or_default(),
                    ref_name(order, "status").unwrap_or(status),
                ));
                out.changes.clear();
            }
        }
        Ok(existing_id)
    }

    /// Whether a write of this Opportunity's order may have reached NetSuite without its link
    /// being recorded (see [`intend_write`](Self::intend_write)).
    async fn write_intended(&self, id: &SalesforceId) -> Result<bool> {
        Ok(self.store.status(&write_intent_name(id)).await?.is_some())
    }

    /// Notes, before the first write of an order that has no link, that a write is under way: if
    /// its answer is lost or the process dies before the link is recorded, the next sync reads
    /// the order by external id and compares it instead of writing blindly (which would, for
    /// one, set `orders.order_status` again on an order someone has approved since). Written
    /// under the Opportunity's lock; cleared once the link is recorded, else it expires after
    /// [`WRITE_INTENT_TTL`].
    async fn intend_write(&self, id: &SalesforceId) -> Result<()> {
        Ok(self
            .store
            .put_status(&write_intent_name(id), b"1", WRITE_INTENT_TTL)
            .await?)
    }

    /// Upserts the order by the Opportunity's id (`eid:`; lines replaced) and answers how to
    /// read it back: its internal id from the `Location` header, else `eid:<id>`. A new order
    /// gets `orders.order_status` when set.
    async fn write_order(
        &self,
        id: &SalesforceId,
        mut body: Record,
        existing_id: Option<String>,
    ) -> Result<String> {
        if existing_id.is_none() && !self.config.order_status.is_empty() {
            body.insert(
                "orderStatus".into(),
                json!({ "id": self.config.order_status }),
            );
        }
        let location = self
            .netsuite
            .upsert("salesOrder", id.as_str(), &body, &["item"])
            .await?;
        Ok(location
            .or(existing_id)
            .unwrap_or_else(|| format!("eid:{id}")))
    }

    /// Reads the order back (`order_key`: internal id or `eid:`) for its id, number and status
    /// as NetSuite holds them now (the status may have been defaulted), records the link under
    /// `lease`, and writes id, number and status back to the Opportunity where they differ.
    /// The order's internal id.
    async fn record_order(
        &self,
        id: &SalesforceId,
        opportunity: &Record,
        order_key: &str,
        salesforce_hash: String,
        lease: &Lease,
    ) -> Result<String> {
        let order = self.read_order(order_key).await?.ok_or_else(|| {
            EngineError::Unprocessable(format!("sales order {order_key} vanished after the write"))
        })?;
        let order_id = text(&order, "id").ok_or_else(|| {
            EngineError::Unprocessable(format!("NetSuite lost the sales order written for {id}"))
        })?;
        let order_id = order_id.as_str();
        let number = text(&order, "tranId").unwrap_or_default();
        let status = ref_name(&order, "status").unwrap_or_default();
        let link = Link {
            kind: LINK_KIND.into(),
            salesforce_id: id.to_string(),
            netsuite_id: order_id.to_string(),
            salesforce_hash,
            netsuite_hash: status_hash(&number, &status),
            salesforce_modstamp: text(opportunity, "SystemModstamp").unwrap_or_default(),
            netsuite_modstamp: text(&order, "lastModifiedDate").unwrap_or_default(),
            synced_at_ms: chrono::Utc::now().timestamp_millis(),
            fields: Default::default(),
            parked: Vec::new(),
        };
        self.store.put_link(&link, lease).await?;
        let mut write_back = Map::new();
        for (field, value) in [
            ("NetSuite_Id__c", order_id),
            ("NetSuite_Order_Number__c", number.as_str()),
            ("NetSuite_Order_Status__c", status.as_str()),
        ] {
            if text(opportunity, field).as_deref() != Some(value) {
                write_back.insert(field.into(), Value::String(value.to_string()));
            }
        }
        if self.config.tax.enabled() {
            super::line_terms::totals_write_back(opportunity, &order, &mut write_back);
        }
        if !write_back.is_empty() {
            self.salesforce
                .update("Opportunity", id.as_str(), &write_back)
                .await?;
        }
        Ok(order_id.to_string())
    }

    /// Ensures the account's customer through the customers service (the call carries the
    /// current trace, so its span is a child of this sync's); its id, or `None` on a dry run for
    /// a customer that does not exist yet.
    pub(super) async fn ensure_customer(
        &self,
        account_id: &str,
        dry_run: bool,
    ) -> Result<Option<String>> {
        let mut request = tonic::Request::new(SyncAccountRequest {
            account_id: account_id.to_string(),
            options: Some(SyncOptions {
                dry_run,
                delivery: Delivery::Unspecified as i32,
            }),
        });
        request.set_timeout(self.config.lock_wait() + self.config.lock_ttl());
        let answer = self.customers.clone().sync_account(request).await;
        let synced = match answer {
            Ok(answer) => answer.into_inner(),
            Err(status) => {
                let code = ErrorCode::from_status(&status);
                let message = format!(
                    "the account {account_id} cannot be synced to NetSuite: {}",
                    status.message()
                );
                return Err(match code {
                    ErrorCode::InvalidArgument | ErrorCode::NotFound | ErrorCode::Unprocessable => {
                        EngineError::Unprocessable(message)
                    }
                    code => EngineError::Service { code, message },
                });
            }
        };
        let outcome = Outcome::from_wire(synced.outcome);
        match outcome {
            Some(Outcome::Created | Outcome::Updated | Outcome::Unchanged) => {
                Ok(Some(synced.netsuite_id).filter(|id| !id.is_empty()))
            }
            Some(Outcome::Queued) => Err(EngineError::Service {
                code: ErrorCode::Locked,
                message: format!(
                    "the customer of account {account_id} is still being synced (job {}); the \
                     order follows when it is done",
                    synced.job_id
                ),
            }),
            _ => Err(EngineError::Unprocessable(format!(
                "the account {account_id} cannot be synced to NetSuite ({}): {}",
                outcome.map_or("unspecified", Outcome::as_str),
                synced.warnings.join("; ")
            ))),
        }
    }

    /// A sales order with its lines, or `None` when it does not exist. `id` is an internal id or
    /// `eid:<external id>`.
    async fn read_order(&self, id: &str) -> Result<Option<Record>> {
        let opts = GetOptions {
            expand_sub_resources: true,
            ..Default::default()
        };
        match self.netsuite.get("salesOrder", id, &opts).await {
            Ok(order) => Ok(Some(order)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

/// How long a write intent outlives a write whose link was never recorded: longer than any
/// retry or dead-letter replay is expected to wait.
const WRITE_INTENT_TTL: Duration = Duration::from_secs(90 * 86_400);

/// The status value naming an unlinked order write under way.
fn write_intent_name(id: &SalesforceId) -> String {
    format!("{LINK_KIND}:write-intent:sf:{id}")
}

/// The hash of what the order → Opportunity flow writes back (number and status).
pub(super) fn status_hash(number: &str, status: &str) -> String {
    hash(&json!({ "number": number, "status": status }))
}

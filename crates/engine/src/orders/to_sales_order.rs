//! Won Opportunity (+ line items) → NetSuite sales order.

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::GetOptions;
use isthmus_proto::common::v1::{Delivery, SyncOptions};
use isthmus_proto::customers::v1::SyncAccountRequest;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::soql;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::{hash, iso_date, ref_name, OrderFlows, FLOW_OPPORTUNITY_TO_ORDER, LINK_KIND};
use crate::catalog::LINK_KIND as PRODUCT_LINK_KIND;
use crate::config::WonRule;
use crate::customers::mapping::{self, text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{ensure_held, with_lock};

/// Fields of a line item the flow reads.
const LINE_FIELDS: &str = "Id, Name, Product2Id, PricebookEntryId, Quantity, UnitPrice, Discount, \
                           TotalPrice, Description, ServiceDate";
/// Account address fields read through the Opportunity's `Account` relationship.
const ADDRESS_PARTS: [&str; 5] = ["Street", "City", "State", "PostalCode", "Country"];
/// The line item record as dry runs and errors name it.
const NS_ORDER: &str = "netsuite.salesOrder";

/// The order an Opportunity asks for, checked and mapped, before any write.
struct OrderPlan {
    account_id: String,
    /// The sales order body without `entity` (added once the customer is known).
    body: Record,
    /// Content hash of the body and the account: what the link remembers.
    hash: String,
    warnings: Vec<String>,
}

impl OrderFlows {
    /// "Sync to NetSuite" on one Opportunity, under the Opportunity's lock. A dry run takes no
    /// lock and writes nothing, in Redis either.
    pub async fn sync_opportunity(
        &self,
        id: &SalesforceId,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        if dry_run {
            return self.opportunity_to_order(id, trace_id, None).await;
        }
        with_lock(
            &self.store,
            &format!("{LINK_KIND}:sf:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.opportunity_to_order(id, trace_id, Some(lease)),
        )
        .await
    }

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

        let existing = match &link {
            Some(link) => self.read_order(&link.netsuite_id).await?,
            None => self.read_order(&format!("eid:{id}")).await?,
        };
        out.matched_rule = match (&link, &existing) {
            (Some(_), _) => "id_map",
            (None, Some(_)) => "external_id",
            (None, None) => "none",
        }
        .into();
        out.changes = order_changes(&body, existing.as_ref());
        let existing_id = existing.as_ref().and_then(|o| text(o, "id"));
        out.netsuite_id = existing_id.clone().unwrap_or_default();

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
        if out.outcome != Outcome::Skipped {
            out.outcome = match (&existing, out.changes.is_empty()) {
                (None, _) => Outcome::Created,
                (Some(_), false) => Outcome::Updated,
                (Some(_), true) => Outcome::Unchanged,
            };
        }
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
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;

        let order_id = match (&existing_id, out.outcome == Outcome::Updated) {
            (Some(order_id), false) => order_id.clone(),
            (existing_id, _) => {
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
                match location.or_else(|| existing_id.clone()) {
                    Some(order_id) => order_id,
                    None => self
                        .read_order(&format!("eid:{id}"))
                        .await?
                        .and_then(|o| text(&o, "id"))
                        .ok_or_else(|| {
                            EngineError::Unprocessable(format!(
                                "NetSuite lost the sales order written for {id}"
                            ))
                        })?,
                }
            }
        };
        // Number and status as NetSuite holds them now (the status may have been defaulted).
        let order = self.read_order(&order_id).await?.ok_or_else(|| {
            EngineError::Unprocessable(format!("sales order {order_id} vanished after the write"))
        })?;
        let number = text(&order, "tranId").unwrap_or_default();
        let status = ref_name(&order, "status").unwrap_or_default();

        // A skipped change stays unsynced, so the next click reports it again.
        let skipped = out.outcome == Outcome::Skipped;
        let salesforce_hash = match (&link, skipped) {
            (Some(link), true) => link.salesforce_hash.clone(),
            (None, true) => String::new(),
            (_, false) => plan.hash,
        };
        let link = Link {
            kind: LINK_KIND.into(),
            salesforce_id: id.to_string(),
            netsuite_id: order_id.clone(),
            salesforce_hash,
            netsuite_hash: status_hash(&number, &status),
            salesforce_modstamp: text(&opportunity, "SystemModstamp").unwrap_or_default(),
            netsuite_modstamp: text(&order, "lastModifiedDate").unwrap_or_default(),
            synced_at_ms: chrono::Utc::now().timestamp_millis(),
            fields: Default::default(),
            parked: Vec::new(),
        };
        self.store.put_link(&link, &lease).await?;
        let mut write_back = Map::new();
        for (field, value) in [
            ("NetSuite_Id__c", &order_id),
            ("NetSuite_Order_Number__c", &number),
            ("NetSuite_Order_Status__c", &status),
        ] {
            if text(&opportunity, field).as_deref() != Some(value.as_str()) {
                write_back.insert(field.into(), Value::String(value.clone()));
            }
        }
        if !write_back.is_empty() {
            self.salesforce
                .update("Opportunity", id.as_str(), &write_back)
                .await?;
        }
        out.netsuite_id = order_id;
        Ok(out)
    }

    /// The Opportunity with its account's addresses and its line items, in one SOQL query.
    async fn read_opportunity(&self, id: &SalesforceId) -> Result<Record> {
        let mut fields: Vec<String> = [
            "Id",
            "Name",
            "AccountId",
            "StageName",
            "IsWon",
            "IsClosed",
            "CloseDate",
            "CurrencyIsoCode",
            "Renewal_Of__c",
            "NetSuite_Id__c",
            "NetSuite_Order_Number__c",
            "NetSuite_Order_Status__c",
            "SystemModstamp",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        if self.config.won_rule == WonRule::Checkbox {
            fields.push(self.config.won_checkbox.clone());
        }
        fields.extend(self.config.fields.keys().cloned());
        if self.config.carry_addresses {
            for prefix in ["Billing", "Shipping"] {
                fields.extend(ADDRESS_PARTS.iter().map(|p| format!("Account.{prefix}{p}")));
            }
        }
        let mut seen = std::collections::HashSet::new();
        fields.retain(|f| seen.insert(f.to_ascii_lowercase()));
        let q = format!(
            "SELECT {}, (SELECT {LINE_FIELDS} FROM OpportunityLineItems ORDER BY CreatedDate, Id) \
             FROM Opportunity WHERE Id = {}",
            fields.join(", "),
            soql::literal(id.as_str())
        );
        let mut rows = self.salesforce.query(&q).await?;
        if rows.is_empty() {
            return Err(EngineError::NotFound(format!(
                "Salesforce opportunity {id} does not exist"
            )));
        }
        Ok(rows.swap_remove(0))
    }

    /// Checks everything the order needs and maps it, or fails with one `Unprocessable` error
    /// naming every record at fault. Reads Redis only (the product and order links).
    async fn plan_order(&self, id: &SalesforceId, opportunity: &Record) -> Result<OrderPlan> {
        self.check_won(id, opportunity)?;
        let lines: Vec<&Record> = opportunity
            .get("OpportunityLineItems")
            .and_then(|c| c.get("records"))
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        if lines.is_empty() {
            return Err(EngineError::Unprocessable(format!(
                "opportunity {id} has no products; add its line items, then sync again"
            )));
        }
        let mut problems = Vec::new();
        let account_id = text(opportunity, "AccountId");
        if account_id.is_none() {
            problems.push(format!("opportunity {id} has no account"));
        }
        let currency = text(opportunity, "CurrencyIsoCode").unwrap_or_else(|| "USD".into());
        let currency_id = self.currencies.get(&currency);
        if currency_id.is_none() {
            problems.push(format!(
                "currency {currency} has no NetSuite currency in the [currencies] configuration"
            ));
        }
        let product_ids: Vec<String> = lines
            .iter()
            .map(|l| text(l, "Product2Id").unwrap_or_default())
            .collect();
        let items = self
            .store
            .links_by_salesforce_many(PRODUCT_LINK_KIND, &product_ids)
            .await?;
        let mut ns_lines = Vec::new();
        for (n, (line, item)) in lines.iter().zip(&items).enumerate() {
            let line_id = text(line, "Id").unwrap_or_default();
            let name = text(line, "Name").unwrap_or_default();
            let product = &product_ids[n];
            let Some(item) = item else {
                problems.push(format!(
                    "line {line_id} ({name}): product {product} has no NetSuite item; run the \
                     catalog sync, or sync its item"
                ));
                continue;
            };
            match order_line(line, &item.netsuite_id) {
                Ok(ns_line) => ns_lines.push(ns_line),
                Err(why) => problems.push(format!("line {line_id} ({name}) {why}")),
            }
        }
        let renewal_of = match text(opportunity, "Renewal_Of__c") {
            Some(original) => match self.store.link_by_salesforce(LINK_KIND, &original).await? {
                Some(link) => Some(link.netsuite_id),
                None => {
                    problems.push(format!(
                        "opportunity {id} renews {original}, whose sales order is not in \
                         NetSuite; sync {original} first"
                    ));
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            return Err(EngineError::Unprocessable(format!(
                "opportunity {id} cannot become a sales order: {}",
                problems.join("; ")
            )));
        }
        let account_id = account_id.unwrap_or_default();

        let mut body = Map::new();
        body.insert("currency".into(), json!({ "id": currency_id }));
        if let Some(date) = text(opportunity, "CloseDate").and_then(|d| iso_date(&d)) {
            body.insert("tranDate".into(), json!(date));
        }
        if !self.config.subsidiary.is_empty() {
            body.insert("subsidiary".into(), json!({ "id": self.config.subsidiary }));
        }
        for (sf_field, ns_field) in &self.config.fields {
            if let Some(value) = opportunity.get(sf_field).filter(|v| !v.is_null()) {
                body.insert(ns_field.clone(), value.clone());
            }
        }
        if let Some(original) = renewal_of {
            body.insert(
                self.config.renewals.link_field.clone(),
                json!({ "id": original }),
            );
        }
        let mut warnings = Vec::new();
        if self.config.carry_addresses {
            if let Some(account) = opportunity.get("Account").and_then(Value::as_object) {
                let doc = mapping::from_account(&self.customers_config, account);
                warnings.extend(doc.warnings.iter().cloned());
                for (field, address) in [
                    ("billingAddress", &doc.billing),
                    ("shippingAddress", &doc.shipping),
                ] {
                    if let Some(address) = address {
                        body.insert(field.into(), mapping::ns_address(address));
                    }
                }
            }
        }
        body.insert("item".into(), json!({ "items": ns_lines }));
        let hash = hash(&json!({ "account": account_id, "body": body }));
        Ok(OrderPlan {
            account_id,
            body,
            hash,
            warnings,
        })
    }

    fn check_won(&self, id: &SalesforceId, opportunity: &Record) -> Result<()> {
        let stage = text(opportunity, "StageName").unwrap_or_default();
        let (won, rule) = match self.config.won_rule {
            WonRule::IsWon => (
                opportunity.get("IsWon").and_then(Value::as_bool) == Some(true),
                "it is not Closed Won (IsWon is false)".to_string(),
            ),
            WonRule::Stage => (
                self.config.won_stages.contains(&stage),
                format!(
                    "its stage is not one of {}",
                    self.config.won_stages.join(", ")
                ),
            ),
            WonRule::Checkbox => (
                opportunity
                    .get(&self.config.won_checkbox)
                    .and_then(Value::as_bool)
                    == Some(true),
                format!("{} is not checked", self.config.won_checkbox),
            ),
        };
        if won {
            return Ok(());
        }
        Err(EngineError::Unprocessable(format!(
            "opportunity {id} (stage '{}') is not won yet: {rule}",
            stage.escape_debug()
        )))
    }

    /// Ensures the account's customer through the customers service (the call carries the
    /// current trace, so its span is a child of this sync's); its id, or `None` on a dry run for
    /// a customer that does not exist yet.
    async fn ensure_customer(&self, account_id: &str, dry_run: bool) -> Result<Option<String>> {
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

/// A sales order line for an opportunity line whose product is item `item`: the rate is the sales
/// price less the line's discount, the amount Salesforce's total price. `Err` says what the line
/// lacks.
fn order_line(line: &Record, item: &str) -> Result<Value, &'static str> {
    let unit_price = number(line, "UnitPrice").ok_or("has no sales price")?;
    let quantity = number(line, "Quantity")
        .filter(|q| *q > 0.0)
        .ok_or("has no positive quantity")?;
    let discount = number(line, "Discount").unwrap_or(0.0);
    if !(0.0..=100.0).contains(&discount) {
        return Err("has a discount outside 0 to 100 %");
    }
    let rate = round_to(unit_price * (1.0 - discount / 100.0), 6);
    let amount = number(line, "TotalPrice").unwrap_or(quantity * rate);
    let mut ns_line = json!({
        "item": { "id": item },
        "quantity": quantity,
        "rate": rate,
        "amount": round_to(amount, 2),
    });
    if let Some(description) = text(line, "Description") {
        ns_line["description"] = json!(description);
    }
    Ok(ns_line)
}

/// The hash of what the order → Opportunity flow writes back (number and status).
pub(super) fn status_hash(number: &str, status: &str) -> String {
    hash(&json!({ "number": number, "status": status }))
}

fn number(record: &Record, field: &str) -> Option<f64> {
    match record.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn round_to(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

/// The fields `body` sets that differ from `existing` (absent: every field), as the dry run
/// shows them: body fields on `netsuite.salesOrder`, lines on `netsuite.salesOrder.item[n]`.
fn order_changes(body: &Record, existing: Option<&Record>) -> Vec<FieldChange> {
    let shown = |v: &Value| v.clone();
    let mut changes = Vec::new();
    for (field, wanted) in body {
        if field == "item" {
            continue;
        }
        let before = existing.and_then(|e| e.get(field)).filter(|v| !v.is_null());
        if before.is_some_and(|b| same_value(b, wanted)) {
            continue;
        }
        changes.push(FieldChange {
            record: NS_ORDER.into(),
            field: field.clone(),
            before: before.map(shown),
            after: Some(shown(wanted)),
        });
    }
    let wanted_lines = lines_of(body);
    let existing_lines = existing.map(lines_of).unwrap_or_default();
    for n in 0..wanted_lines.len().max(existing_lines.len()) {
        let (before, after) = (existing_lines.get(n), wanted_lines.get(n));
        let record = format!("{NS_ORDER}.item[{}]", n + 1);
        for field in ["item", "quantity", "rate", "amount"] {
            let b = before.and_then(|l| l.get(field)).filter(|v| !v.is_null());
            let a = after.and_then(|l| l.get(field)).filter(|v| !v.is_null());
            let same = match (b, a) {
                (Some(b), Some(a)) => same_value(b, a),
                (None, None) => true,
                _ => false,
            };
            if !same {
                changes.push(FieldChange {
                    record: record.clone(),
                    field: field.into(),
                    before: b.map(shown),
                    after: a.map(shown),
                });
            }
        }
    }
    changes
}

fn lines_of(record: &Record) -> Vec<Record> {
    record
        .get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).cloned().collect())
        .unwrap_or_default()
}

/// Equal as NetSuite means it: references by id, numbers by value, addresses by their parts.
fn same_value(current: &Value, wanted: &Value) -> bool {
    match (current, wanted) {
        (Value::Object(c), Value::Object(w)) if w.contains_key("id") => {
            id_text(c.get("id")) == id_text(w.get("id"))
        }
        (Value::Object(c), Value::Object(w)) => w.iter().all(|(k, v)| {
            v.is_null() && c.get(k).is_none_or(Value::is_null) || c.get(k) == Some(v)
        }),
        (c, w) if c.is_number() || w.is_number() => match (as_f64(c), as_f64(w)) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-6,
            _ => false,
        },
        (Value::String(c), Value::String(w)) => {
            c == w || iso_date(c).is_some_and(|d| Some(d) == iso_date(w))
        }
        (c, w) => c == w,
    }
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_order_shows_every_field_and_line() {
        let body = json!({
            "currency": {"id": "2"},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7"}, "quantity": 2.0, "rate": 10.0, "amount": 20.0}]},
        });
        let changes = order_changes(body.as_object().unwrap(), None);
        let fields: Vec<String> = changes
            .iter()
            .map(|c| format!("{}.{}", c.record, c.field))
            .collect();
        assert_eq!(
            fields,
            [
                "netsuite.salesOrder.currency",
                "netsuite.salesOrder.tranDate",
                "netsuite.salesOrder.item[1].item",
                "netsuite.salesOrder.item[1].quantity",
                "netsuite.salesOrder.item[1].rate",
                "netsuite.salesOrder.item[1].amount",
            ]
        );
        assert!(changes.iter().all(|c| c.before.is_none()));
    }

    #[test]
    fn an_order_as_netsuite_renders_it_is_unchanged() {
        let body = json!({
            "currency": {"id": "2"},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7"}, "quantity": 2.0, "rate": 10.0, "amount": 20.0}]},
        });
        let existing = json!({
            "id": "55",
            "currency": {"id": "2", "refName": "EUR", "links": []},
            "tranDate": "2026-01-20",
            "item": {"items": [{"item": {"id": "7", "refName": "X"}, "quantity": 2, "rate": 10, "amount": 20, "line": 1}]},
        });
        let changes = order_changes(body.as_object().unwrap(), existing.as_object());
        assert!(changes.is_empty(), "{changes:?}");
        let mut changed = body.clone();
        changed["item"]["items"][0]["quantity"] = json!(3.0);
        let changes = order_changes(changed.as_object().unwrap(), existing.as_object());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "quantity");
        assert_eq!(changes[0].before, Some(serde_json::json!(2)));
    }

    #[test]
    fn a_line_becomes_an_order_line_at_its_discounted_rate() {
        let line =
            json!({ "UnitPrice": 100.0, "Quantity": 3, "Discount": 12.5, "TotalPrice": 262.5 });
        let ns = order_line(line.as_object().unwrap(), "42").unwrap();
        assert_eq!(ns["item"]["id"], "42");
        assert_eq!(ns["rate"], json!(87.5));
        assert_eq!(ns["amount"], json!(262.5));
        assert_eq!(ns["quantity"], json!(3.0));
    }

    #[test]
    fn a_line_without_a_price_or_quantity_is_refused_with_the_reason() {
        let no_price = json!({ "UnitPrice": null, "Quantity": 1 });
        assert_eq!(
            order_line(no_price.as_object().unwrap(), "42").unwrap_err(),
            "has no sales price"
        );
        let no_quantity = json!({ "UnitPrice": 5.0, "Quantity": 0 });
        assert_eq!(
            order_line(no_quantity.as_object().unwrap(), "42").unwrap_err(),
            "has no positive quantity"
        );
        let odd_discount = json!({ "UnitPrice": 5.0, "Quantity": 1, "Discount": 120 });
        assert!(order_line(odd_discount.as_object().unwrap(), "42").is_err());
    }
}

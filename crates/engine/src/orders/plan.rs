//! The plan of an Opportunity's sales order, made before any write: read the Opportunity with
//! its line items and its account's addresses (one SOQL query), check it is won, that every line
//! has a product mapped to a NetSuite item (one `MGET` of the catalog's ID map), a price and a
//! quantity, that its currency is mapped and the order a renewal renews is known, and map it to
//! the sales order body, each line with its tax code and unit when those are on (`line_terms`:
//! units cost one SuiteQL read per order). Any failure is one `Unprocessable` naming every
//! record at fault.

use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::soql;
use serde_json::{json, Map, Value};

use super::line_terms::{self, item_lines, LineContext};
use super::{hash, iso_date, OrderFlows, LINK_KIND};
use crate::catalog::LINK_KIND as PRODUCT_LINK_KIND;
use crate::config::{LineUnits, WonRule};
use crate::customers::mapping::{self, text, Record};
use crate::error::{EngineError, Result};

/// Fields of a line item the flow reads.
const LINE_FIELDS: &str = "Id, Name, Product2Id, PricebookEntryId, Quantity, UnitPrice, Discount, \
                           TotalPrice, Description, ServiceDate";
/// Account address fields read through the Opportunity's `Account` relationship.
const ADDRESS_PARTS: [&str; 5] = ["Street", "City", "State", "PostalCode", "Country"];
/// The order an Opportunity asks for, checked and mapped, before any write.
pub(super) struct OrderPlan {
    pub(super) account_id: String,
    /// The sales order body without `entity` (added once the customer is known).
    pub(super) body: Record,
    /// Content hash of the body and the account: what the link remembers.
    pub(super) hash: String,
    pub(super) warnings: Vec<String>,
}

impl OrderFlows {
    /// The Opportunity with its account's addresses and its line items, in one SOQL query.
    pub(super) async fn read_opportunity(&self, id: &SalesforceId) -> Result<Record> {
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
        if self.config.orders_from_quotes {
            fields.push("SyncedQuoteId".into());
        }
        if self.config.won_rule == WonRule::Checkbox {
            fields.push(self.config.won_checkbox.clone());
        }
        fields.extend(self.config.fields.keys().cloned());
        if self.config.tax.enabled() {
            fields.extend(
                [
                    line_terms::TAX_FIELD,
                    line_terms::TOTAL_FIELD,
                    "Account.ShippingCountry",
                ]
                .map(str::to_string),
            );
        }
        if self.config.carry_addresses {
            for prefix in ["Billing", "Shipping"] {
                fields.extend(ADDRESS_PARTS.iter().map(|p| format!("Account.{prefix}{p}")));
            }
        }
        let mut seen = std::collections::HashSet::new();
        fields.retain(|f| seen.insert(f.to_ascii_lowercase()));
        let mut line_fields = vec![LINE_FIELDS.to_string()];
        line_fields.extend(line_terms::line_fields(
            &self.config.tax,
            &self.config.units,
        ));
        let q = format!(
            "SELECT {}, (SELECT {} FROM OpportunityLineItems ORDER BY CreatedDate, Id) \
             FROM Opportunity WHERE Id = {}",
            fields.join(", "),
            line_fields.join(", "),
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
    /// naming every record at fault. Reads Redis (the product and order links), and NetSuite once
    /// for the items' units when units are on and a line has one.
    pub(super) async fn plan_order(
        &self,
        id: &SalesforceId,
        opportunity: &Record,
    ) -> Result<OrderPlan> {
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
        let (currency_id, ns_lines) = self
            .currency_and_lines(
                opportunity,
                &lines,
                &self.config.units,
                |_, line| {
                    let id = text(line, "Id").unwrap_or_default();
                    let name = text(line, "Name").unwrap_or_default();
                    format!("line {id} ({name})")
                },
                &mut problems,
            )
            .await?;
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

    /// What an order and an estimate check and map alike: the currency of `record` (an
    /// Opportunity or a Quote; its NetSuite id from `[currencies]`), and its `lines` as NetSuite
    /// item lines with their terms under `units` (each product's item from one `MGET` of the
    /// catalog's ID map). An unmapped currency or a line that cannot go (named by `label`) is
    /// added to `problems`.
    pub(super) async fn currency_and_lines(
        &self,
        record: &Record,
        lines: &[&Record],
        units: &LineUnits,
        label: impl Fn(usize, &Record) -> String,
        problems: &mut Vec<String>,
    ) -> Result<(Option<String>, Vec<Value>)> {
        let currency = text(record, "CurrencyIsoCode").unwrap_or_else(|| "USD".into());
        let currency_id = self.currencies.get(&currency).cloned();
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
        let context = self.line_context(record, lines, &items, units).await?;
        Ok((
            currency_id,
            item_lines(&context, lines, &items, label, problems),
        ))
    }

    /// What the lines' terms share: the rules, the shipping country (tax on), and the units of
    /// the items of lines that name a unit (units on; one SuiteQL query, none without such lines).
    async fn line_context<'a>(
        &'a self,
        opportunity: &Record,
        lines: &[&Record],
        items: &[Option<isthmus_store::Link>],
        units: &'a LineUnits,
    ) -> Result<LineContext<'a>> {
        let tax = &self.config.tax;
        let country = opportunity
            .get("Account")
            .and_then(Value::as_object)
            .and_then(|a| text(a, "ShippingCountry"))
            .filter(|_| tax.enabled())
            .and_then(|c| mapping::country_code(&self.customers_config, &c).ok());
        let mut with_units: Vec<String> = Vec::new();
        if units.enabled {
            for (line, item) in lines.iter().zip(items) {
                if let (Some(item), Some(_)) = (item, line_terms::line_unit(units, line)) {
                    if !with_units.contains(&item.netsuite_id) {
                        with_units.push(item.netsuite_id.clone());
                    }
                }
            }
        }
        Ok(LineContext {
            tax,
            units,
            country,
            item_units: self.item_units(&with_units).await?,
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
}

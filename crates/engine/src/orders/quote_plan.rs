//! The plan of a Quote's estimate, made before any write: read the Quote with its lines (one SOQL
//! query), check it has lines, an account and a mapped currency, and that every line's product is
//! mapped to a NetSuite item (one `MGET` of the catalog's ID map) with a price and a quantity, then
//! map it to the estimate body. Any failure is one `Unprocessable` naming every line at fault.
//! Each line carries its tax code and unit as an order line does (`line_terms`, the same rules:
//! `orders.tax` by the product code, else the quote account's shipping country, else the default;
//! `orders.units` by the product's `QuantityUnitOfMeasure`, since `orders.units.line_field` names
//! an opportunity line field a quote line need not have).

use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::soql;
use serde_json::{json, Map, Value};

use super::line_terms;
use super::plan::OrderPlan;
use super::{hash, iso_date, OrderFlows};
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};

/// Fields of a quote line the flow reads.
const LINE_FIELDS: &str = "Id, LineNumber, Product2Id, PricebookEntryId, Quantity, UnitPrice, \
                           Discount, TotalPrice, Description";

impl OrderFlows {
    /// The Quote with its lines, in one SOQL query.
    pub(super) async fn read_quote(&self, id: &SalesforceId) -> Result<Record> {
        let units = self.quote_units();
        let mut line_fields = vec![LINE_FIELDS.to_string()];
        line_fields.extend(line_terms::line_fields(&self.config.tax, &units));
        let country = if self.config.tax.enabled() {
            ", Account.ShippingCountry"
        } else {
            ""
        };
        let q = format!(
            "SELECT Id, Name, OpportunityId, AccountId, Status, ExpirationDate, CurrencyIsoCode, \
             NetSuite_Id__c, NetSuite_Status__c, SystemModstamp{country}, \
             (SELECT {} FROM QuoteLineItems ORDER BY CreatedDate, Id) \
             FROM Quote WHERE Id = {}",
            line_fields.join(", "),
            soql::literal(id.as_str())
        );
        let mut rows = self.salesforce.query(&q).await?;
        if rows.is_empty() {
            return Err(EngineError::NotFound(format!(
                "Salesforce quote {id} does not exist"
            )));
        }
        Ok(rows.swap_remove(0))
    }

    /// `orders.units` for quote lines: the product's unit only (see the module's doc).
    fn quote_units(&self) -> crate::config::LineUnits {
        crate::config::LineUnits {
            line_field: String::new(),
            ..self.config.units.clone()
        }
    }

    /// Checks everything the estimate needs and maps it, or fails with one `Unprocessable` error
    /// naming every line at fault. Reads Redis (the product links), and NetSuite once for the
    /// items' units when units are on and a line has one.
    pub(super) async fn plan_estimate(
        &self,
        id: &SalesforceId,
        quote: &Record,
    ) -> Result<OrderPlan> {
        let lines: Vec<&Record> = quote
            .get("QuoteLineItems")
            .and_then(|c| c.get("records"))
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        if lines.is_empty() {
            return Err(EngineError::Unprocessable(format!(
                "quote {id} has no line items; add its products, then sync again"
            )));
        }
        let mut problems = Vec::new();
        let account_id = text(quote, "AccountId");
        if account_id.is_none() {
            problems.push(format!(
                "quote {id} has no account (its opportunity has none)"
            ));
        }
        let (currency_id, ns_lines) = self
            .currency_and_lines(
                quote,
                &lines,
                &self.quote_units(),
                |n, line| {
                    let id = text(line, "Id").unwrap_or_default();
                    let number = text(line, "LineNumber").unwrap_or_else(|| (n + 1).to_string());
                    format!("line {id} (line {number})")
                },
                &mut problems,
            )
            .await?;
        if !problems.is_empty() {
            return Err(EngineError::Unprocessable(format!(
                "quote {id} cannot become an estimate: {}",
                problems.join("; ")
            )));
        }
        let account_id = account_id.unwrap_or_default();
        let mut body = Map::new();
        body.insert("currency".into(), json!({ "id": currency_id }));
        if let Some(name) = text(quote, "Name") {
            body.insert("title".into(), json!(name));
        }
        if let Some(date) = text(quote, "ExpirationDate").and_then(|d| iso_date(&d)) {
            body.insert("dueDate".into(), json!(date));
        }
        if !self.config.subsidiary.is_empty() {
            body.insert("subsidiary".into(), json!({ "id": self.config.subsidiary }));
        }
        body.insert("item".into(), json!({ "items": ns_lines }));
        let hash = hash(&json!({ "account": account_id, "body": body }));
        Ok(OrderPlan {
            account_id,
            body,
            hash,
            warnings: Vec::new(),
        })
    }
}

//! The terms of an order line NetSuite needs besides item, quantity and price: its tax code
//! (`orders.tax`) and its unit of measure (`orders.units`). One function, [`line_terms`], gives
//! them for one Salesforce line, so that every body with item lines (the sales order; estimates)
//! maps them alike.
//!
//! - Tax code: by the line's product code, else by the shipping country, else the default (see
//!   [`TaxCodes`]); a line none of them covers is refused while tax is on.
//! - Unit: the line's unit (a configured line field, else the product's QuantityUnitOfMeasure)
//!   must name (unit name, plural or abbreviation, any case) a unit of the item's units type,
//!   read for every line of an order with one SuiteQL query ([`OrderFlows::item_units`]); a line
//!   without a unit takes the item's sale unit in NetSuite.
//!
//! Off (no tax rule, units disabled), a line gets nothing and nothing more is read. Nothing here
//! writes: a refusal is a reason, which the plan joins into one 422 naming every line at fault.
//! What NetSuite computed comes back through [`totals_write_back`]: the order's tax total and
//! total, for the Opportunity.

use std::collections::BTreeMap;

use isthmus_netsuite::suiteql;
use isthmus_store::Link;
use serde_json::{json, Map, Value};

use super::order_body::order_line;
use super::OrderFlows;
use crate::config::{LineUnits, TaxCodes};
use crate::customers::mapping::{text, Record};
use crate::error::Result;

/// Opportunity fields the tax write-back fills: NetSuite's tax total and total.
pub(super) const TAX_FIELD: &str = "NetSuite_Tax__c";
pub(super) const TOTAL_FIELD: &str = "NetSuite_Total__c";

/// A unit of an item's units type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemUnit {
    pub(super) id: String,
    /// Unit name, plural name and abbreviations: what a Salesforce unit may say.
    pub(super) names: Vec<String>,
}

/// What every line of one order shares: the rules, the shipping country, the items' units.
pub(super) struct LineContext<'a> {
    pub(super) tax: &'a TaxCodes,
    pub(super) units: &'a LineUnits,
    /// ISO code of the account's shipping country.
    pub(super) country: Option<String>,
    /// Item internal id → its units (read only when units are on and some line has one).
    pub(super) item_units: BTreeMap<String, Vec<ItemUnit>>,
}

/// The NetSuite item lines of `lines` (an opportunity's or a quote's; their products' links are
/// `items`), each with its terms. A line that cannot go adds a problem named by `label` (e.g.
/// "line 00k… (Widget)") instead.
pub(super) fn item_lines(
    context: &LineContext<'_>,
    lines: &[&Record],
    items: &[Option<Link>],
    label: impl Fn(usize, &Record) -> String,
    problems: &mut Vec<String>,
) -> Vec<Value> {
    let mut ns_lines = Vec::new();
    for (n, (line, item)) in lines.iter().zip(items).enumerate() {
        let label = label(n, line);
        let Some(item) = item else {
            let product = text(line, "Product2Id").unwrap_or_default();
            problems.push(format!(
                "{label}: product {product} has no NetSuite item; run the catalog sync, or sync \
                 its item"
            ));
            continue;
        };
        let mapped = order_line(line, &item.netsuite_id)
            .map_err(str::to_string)
            .and_then(|l| Ok((l, line_terms(context, line, &item.netsuite_id)?)));
        match mapped {
            Ok((mut ns_line, terms)) => {
                if let Some(ns_line) = ns_line.as_object_mut() {
                    ns_line.extend(terms);
                }
                ns_lines.push(ns_line);
            }
            Err(why) => problems.push(format!("{label} {why}")),
        }
    }
    ns_lines
}

/// The tax code and unit of one line whose product is item `item`, as fields of the NetSuite
/// line (`taxCode`, `units`; none when both are off). `Err` says why the line cannot go.
pub(super) fn line_terms(
    context: &LineContext<'_>,
    line: &Record,
    item: &str,
) -> std::result::Result<Map<String, Value>, String> {
    let mut terms = Map::new();
    if context.tax.enabled() {
        let code = product_field(line, "ProductCode");
        let country = context.country.as_deref();
        let Some(tax_code) = context.tax.code_for(code.as_deref(), country) else {
            return Err(format!(
                "has no tax code: neither its product code ({}) nor the shipping country ({}) \
                 has a rule in orders.tax, and there is no default",
                code.as_deref().unwrap_or("none"),
                country.unwrap_or("none"),
            ));
        };
        terms.insert("taxCode".into(), json!({ "id": tax_code.as_str() }));
    }
    if context.units.enabled {
        if let Some(unit) = line_unit(context.units, line) {
            let units = context.item_units.get(item).map_or(&[][..], Vec::as_slice);
            let wanted = unit.to_lowercase();
            let Some(found) = units.iter().find(|u| u.names.contains(&wanted)) else {
                return Err(if units.is_empty() {
                    format!("has unit '{unit}', but its NetSuite item {item} has no units type")
                } else {
                    format!(
                        "has unit '{unit}', which is not a unit of its NetSuite item {item} \
                         (its units: {})",
                        units
                            .iter()
                            .filter_map(|u| u.names.first().cloned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            };
            terms.insert("units".into(), json!({ "id": found.id }));
        }
    }
    Ok(terms)
}

/// The line's unit as Salesforce names it: the configured line field, else the product's.
pub(super) fn line_unit(units: &LineUnits, line: &Record) -> Option<String> {
    let own = (!units.line_field.is_empty())
        .then(|| text(line, &units.line_field))
        .flatten();
    own.or_else(|| product_field(line, "QuantityUnitOfMeasure"))
}

/// A field of the line's product (`Product2.<field>` in the line subquery).
fn product_field(line: &Record, field: &str) -> Option<String> {
    line.get("Product2")
        .and_then(Value::as_object)
        .and_then(|p| text(p, field))
}

/// Line fields the terms need, for the line subquery (none when both are off).
pub(super) fn line_fields(tax: &TaxCodes, units: &LineUnits) -> Vec<String> {
    let mut fields = Vec::new();
    if tax.enabled() {
        fields.push("Product2.ProductCode".to_string());
    }
    if units.enabled {
        fields.push("Product2.QuantityUnitOfMeasure".to_string());
        if !units.line_field.is_empty() {
            fields.push(units.line_field.clone());
        }
    }
    fields
}

/// NetSuite's tax total and total of `order`, for the Opportunity's fields where they differ
/// (to the cent) from what `opportunity` holds; added to the write-back the flow makes anyway.
pub(super) fn totals_write_back(
    opportunity: &Record,
    order: &Record,
    write_back: &mut Map<String, Value>,
) {
    for (field, ns_field) in [(TAX_FIELD, "taxTotal"), (TOTAL_FIELD, "total")] {
        let wanted = amount(order, ns_field).unwrap_or(0.0);
        if amount(opportunity, field).is_none_or(|held| (held - wanted).abs() >= 0.005) {
            write_back.insert(field.into(), json!(wanted));
        }
    }
}

fn amount(record: &Record, field: &str) -> Option<f64> {
    match record.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl OrderFlows {
    /// The units of each of `items`' units types, in one SuiteQL query (ids quoted as literals).
    pub(super) async fn item_units(
        &self,
        items: &[String],
    ) -> Result<BTreeMap<String, Vec<ItemUnit>>> {
        let mut by_item: BTreeMap<String, Vec<ItemUnit>> = BTreeMap::new();
        if items.is_empty() {
            return Ok(by_item);
        }
        let ids: Vec<String> = items.iter().map(|i| suiteql::literal(i)).collect();
        let q = format!(
            "SELECT i.id AS item, u.internalid, u.unitname, u.pluralname, u.abbreviation, \
             u.pluralabbreviation FROM item i JOIN unitstypeuom u ON u.unitstype = i.unitstype \
             WHERE i.id IN ({}) ORDER BY i.id, u.internalid",
            ids.join(", ")
        );
        for row in self.netsuite.suiteql(&q).await? {
            let (Some(item), Some(id)) = (text(&row, "item"), text(&row, "internalid")) else {
                continue;
            };
            let mut names: Vec<String> = [
                "unitname",
                "pluralname",
                "abbreviation",
                "pluralabbreviation",
            ]
            .iter()
            .filter_map(|c| text(&row, c))
            .map(|n| n.to_lowercase())
            .collect();
            names.dedup();
            by_item
                .entry(item)
                .or_default()
                .push(ItemUnit { id, names });
        }
        Ok(by_item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_netsuite::NetSuiteId;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn tax() -> TaxCodes {
        TaxCodes {
            by_product: [("GOLD".to_string(), NetSuiteId::parse("5").unwrap())].into(),
            by_country: [("DE".to_string(), NetSuiteId::parse("7").unwrap())].into(),
            default: None,
        }
    }

    fn line(code: &str, unit: Option<&str>) -> Record {
        record(
            json!({ "Id": "00k1", "Product2": { "ProductCode": code, "QuantityUnitOfMeasure": unit } }),
        )
    }

    #[test]
    fn off_a_line_gets_no_terms() {
        let (tax, units) = (TaxCodes::default(), LineUnits::default());
        let context = LineContext {
            tax: &tax,
            units: &units,
            country: None,
            item_units: BTreeMap::new(),
        };
        assert!(line_terms(&context, &line("GOLD", Some("Box")), "9")
            .unwrap()
            .is_empty());
        assert!(line_fields(&tax, &units).is_empty());
    }

    #[test]
    fn the_tax_code_goes_by_product_then_country_and_a_line_without_one_is_refused() {
        let (tax, units) = (tax(), LineUnits::default());
        let mut context = LineContext {
            tax: &tax,
            units: &units,
            country: Some("DE".into()),
            item_units: BTreeMap::new(),
        };
        let code = |c: &LineContext<'_>, p: &str| {
            line_terms(c, &line(p, None), "9").map(|t| t["taxCode"]["id"].clone())
        };
        assert_eq!(code(&context, "GOLD"), Ok(json!("5")));
        assert_eq!(code(&context, "SILVER"), Ok(json!("7")));
        context.country = Some("FR".into());
        let refused = code(&context, "SILVER").unwrap_err();
        assert!(
            refused.contains("SILVER") && refused.contains("FR"),
            "{refused}"
        );
    }

    #[test]
    fn a_unit_is_found_by_name_or_abbreviation_among_the_items_units() {
        let (tax, units) = (
            TaxCodes::default(),
            LineUnits {
                enabled: true,
                line_field: "Unit__c".into(),
            },
        );
        let boxed = ItemUnit {
            id: "2".into(),
            names: vec!["box of 12".into(), "bx".into()],
        };
        let context = LineContext {
            tax: &tax,
            units: &units,
            country: None,
            item_units: [("9".to_string(), vec![boxed])].into(),
        };
        let unit =
            |l: &Record, item: &str| line_terms(&context, l, item).map(|t| t.get("units").cloned());
        assert_eq!(
            unit(&line("W", Some("Box of 12")), "9"),
            Ok(Some(json!({ "id": "2" })))
        );
        let mut own = line("W", Some("Each"));
        own.insert("Unit__c".into(), json!("BX"));
        assert_eq!(
            unit(&own, "9"),
            Ok(Some(json!({ "id": "2" }))),
            "the line field first"
        );
        assert_eq!(
            unit(&line("W", None), "9"),
            Ok(None),
            "no unit: NetSuite's sale unit"
        );
        assert!(unit(&line("W", Some("Pallet")), "9")
            .unwrap_err()
            .contains("'Pallet'"));
        assert!(unit(&line("W", Some("Each")), "10")
            .unwrap_err()
            .contains("no units type"));
    }

    #[test]
    fn the_totals_are_written_back_where_they_differ() {
        let order = record(json!({ "taxTotal": 16.5, "total": 296.5 }));
        let mut write_back = Map::new();
        totals_write_back(
            &record(json!({ "NetSuite_Tax__c": 16.5 })),
            &order,
            &mut write_back,
        );
        assert_eq!(write_back, record(json!({ "NetSuite_Total__c": 296.5 })));
    }
}

//! The canonical item: what of a NetSuite item becomes a Product2 and its prices, read from the
//! SuiteQL rows of `item` and `pricing`, with the content hash that echo suppression compares.
//!
//! Only what Salesforce receives is in the document (and so in the hash): name, code,
//! description, active flag, family, and the prices of the mapped price levels in the mapped
//! currencies. A price in a currency `[currencies]` does not list is left out with a warning,
//! so it neither fails the item nor makes its hash change from run to run.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::config::CatalogConfig;

pub type Record = Map<String, Value>;

/// A price's place: NetSuite price level internal id and ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PriceKey {
    pub level: String,
    pub currency: String,
}

/// A NetSuite item as Salesforce should hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDoc {
    /// NetSuite internal id.
    pub item_id: String,
    /// SuiteQL `itemtype` (`InvtPart`, `Service`, …).
    pub item_type: String,
    /// Product2.Name: the display name, else the item id (`itemId`).
    pub name: String,
    /// Product2.ProductCode: NetSuite's `itemId`.
    pub code: String,
    pub description: Option<String>,
    pub active: bool,
    /// Product2.Family from `catalog.families`; `None` leaves the field alone.
    pub family: Option<String>,
    /// Product2.QuantityUnitOfMeasure: the name of the item's sale unit; `None` (an item without
    /// units) leaves the field alone.
    pub unit: Option<String>,
    /// Prices of the mapped levels in the mapped currencies.
    pub prices: BTreeMap<PriceKey, f64>,
    /// NetSuite `lastmodifieddate` as SuiteQL returned it (kept on the link).
    pub modified: Option<String>,
}

/// A column of a SuiteQL row as trimmed text; absent, null and empty are `None`.
pub fn column(row: &Record, name: &str) -> Option<String> {
    match row.get(name)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// SuiteQL booleans come back as `"T"` / `"F"`.
fn flag(row: &Record, name: &str) -> bool {
    matches!(column(row, name).as_deref(), Some("T" | "t" | "true"))
}

impl ItemDoc {
    /// The content hash: every value Salesforce receives, never an id or a timestamp.
    pub fn content_hash(&self) -> String {
        let prices: Vec<Value> = self
            .prices
            .iter()
            .map(|(key, price)| json!([key.level, key.currency, price]))
            .collect();
        let mut view = json!({
            "name": self.name,
            "code": self.code,
            "description": self.description,
            "active": self.active,
            "family": self.family,
            "prices": prices,
        });
        // Only when set, so that the hash of an item without units is what it always was.
        if let Some(unit) = &self.unit {
            view["unit"] = json!(unit);
        }
        hex::encode(Sha256::digest(view.to_string().as_bytes()))
    }

    /// The Product2 fields this item sets, in a fixed order; `Family` only when mapped.
    pub fn product_fields(&self) -> Vec<(&'static str, Value)> {
        let mut fields = vec![
            ("Name", json!(self.name)),
            ("ProductCode", json!(self.code)),
            (
                "Description",
                self.description.as_ref().map_or(Value::Null, |d| json!(d)),
            ),
            ("IsActive", json!(self.active)),
        ];
        if let Some(family) = &self.family {
            fields.push(("Family", json!(family)));
        }
        if let Some(unit) = &self.unit {
            fields.push(("QuantityUnitOfMeasure", json!(unit)));
        }
        fields
    }
}

/// Builds [`ItemDoc`]s from SuiteQL rows.
pub struct ItemMapper<'a> {
    config: &'a CatalogConfig,
    /// NetSuite currency internal id → ISO code.
    currencies: &'a BTreeMap<String, String>,
}

impl<'a> ItemMapper<'a> {
    pub fn new(config: &'a CatalogConfig, currencies: &'a BTreeMap<String, String>) -> Self {
        Self { config, currencies }
    }

    /// The price levels whose prices are read: the standard level, then the configured ones.
    pub fn levels(&self) -> Vec<String> {
        let mut levels = vec![self.config.standard_price_level.clone()];
        for level in self.config.price_books.keys() {
            if !levels.contains(level) {
                levels.push(level.clone());
            }
        }
        levels
    }

    /// The document of one `item` row and its `pricing` rows (rows of other items are ignored),
    /// with a warning per price left out. `Err` when the row has no id or `itemid`.
    pub fn doc(&self, row: &Record, prices: &[Record]) -> Result<(ItemDoc, Vec<String>), String> {
        let item_id = column(row, "id").ok_or("the item row has no id")?;
        let code = column(row, "itemid")
            .ok_or_else(|| format!("NetSuite item {item_id} has no item name/number (itemId)"))?;
        let item_type = column(row, "itemtype").unwrap_or_default();
        let mut warnings = Vec::new();
        let levels = self.levels();
        let mut mapped = BTreeMap::new();
        for price in prices
            .iter()
            .filter(|p| column(p, "item").as_deref() == Some(&item_id))
        {
            let (Some(level), Some(currency)) =
                (column(price, "pricelevel"), column(price, "currency"))
            else {
                continue;
            };
            if !levels.contains(&level) {
                continue;
            }
            let Some(iso) = self.currencies.get(&currency) else {
                let warning = format!(
                    "item {item_id}: prices in NetSuite currency {currency} are not synced (add it to [currencies])"
                );
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
                continue;
            };
            let Some(value) = column(price, "unitprice").and_then(|p| p.parse::<f64>().ok()) else {
                continue; // no price at this level (NetSuite leaves the cell empty)
            };
            let key = PriceKey {
                level,
                currency: iso.clone(),
            };
            // Quantity tiers repeat a level and currency: the first (lowest tier) is the price.
            mapped.entry(key).or_insert(value);
        }
        let name = column(row, "displayname").unwrap_or_else(|| code.clone());
        let doc = ItemDoc {
            family: self.config.families.get(&item_type).cloned(),
            unit: column(row, "saleunit"),
            item_id,
            item_type,
            name,
            code,
            description: column(row, "description"),
            active: !(self.config.deactivate_inactive_items && flag(row, "isinactive")),
            prices: mapped,
            modified: column(row, "lastmodifieddate"),
        };
        Ok((doc, warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn row(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn config() -> (CatalogConfig, BTreeMap<String, String>) {
        let mut config = Config::load_from(None, Vec::new()).unwrap().catalog;
        config
            .price_books
            .insert("2".into(), "Partner Price Book".into());
        let currencies = [("1", "USD"), ("2", "EUR")]
            .into_iter()
            .map(|(id, iso)| (id.to_string(), iso.to_string()))
            .collect();
        (config, currencies)
    }

    fn widget() -> Record {
        row(
            json!({ "id": "7", "itemid": "WIDGET-100", "displayname": "Standard Widget",
                     "description": "A widget", "isinactive": "F", "itemtype": "InvtPart" }),
        )
    }

    fn price(item: &str, level: &str, currency: &str, value: &str) -> Record {
        row(json!({ "item": item, "pricelevel": level, "currency": currency, "unitprice": value }))
    }

    #[test]
    fn maps_fields_family_and_the_mapped_prices() {
        let (config, currencies) = config();
        let mapper = ItemMapper::new(&config, &currencies);
        let prices = [
            price("7", "1", "1", "25"),
            price("7", "1", "2", "23.5"),
            price("7", "2", "1", "20"),
            price("7", "4", "1", "99"), // a level nobody asked for
            price("8", "1", "1", "1"),  // another item
            price("7", "1", "1", "24"), // a higher quantity tier
        ];
        let (doc, warnings) = mapper.doc(&widget(), &prices).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            (doc.name.as_str(), doc.code.as_str(), doc.active),
            ("Standard Widget", "WIDGET-100", true)
        );
        assert_eq!(doc.family.as_deref(), Some("Hardware"));
        let got: Vec<(String, String, f64)> = doc
            .prices
            .iter()
            .map(|(k, v)| (k.level.clone(), k.currency.clone(), *v))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1".into(), "EUR".into(), 23.5),
                ("1".into(), "USD".into(), 25.0),
                ("2".into(), "USD".into(), 20.0),
            ]
        );
    }

    #[test]
    fn an_unmapped_currency_is_a_warning_not_an_error() {
        let (config, currencies) = config();
        let mapper = ItemMapper::new(&config, &currencies);
        let prices = [price("7", "1", "1", "25"), price("7", "1", "9", "30")];
        let (doc, warnings) = mapper.doc(&widget(), &prices).unwrap();
        assert_eq!(doc.prices.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("currency 9"), "{warnings:?}");
    }

    #[test]
    fn name_falls_back_to_the_item_id_and_inactive_items_are_inactive() {
        let (config, currencies) = config();
        let mapper = ItemMapper::new(&config, &currencies);
        let bare = row(
            json!({ "id": "9", "itemid": "GEAR-10", "isinactive": "T", "itemtype": "Assembly" }),
        );
        let (doc, _) = mapper.doc(&bare, &[]).unwrap();
        assert_eq!(doc.name, "GEAR-10");
        assert!(!doc.active);
        assert_eq!(doc.family, None, "an unmapped type leaves Family alone");
        assert!(!doc.product_fields().iter().any(|(f, _)| *f == "Family"));
        assert!(mapper.doc(&row(json!({ "id": "9" })), &[]).is_err());
    }

    #[test]
    fn the_hash_covers_content_and_prices_but_not_ids_or_timestamps() {
        let (config, currencies) = config();
        let mapper = ItemMapper::new(&config, &currencies);
        let (doc, _) = mapper
            .doc(&widget(), &[price("7", "1", "1", "25")])
            .unwrap();
        let mut other = doc.clone();
        other.item_id = "8".into();
        other.modified = Some("2026-01-01T00:00:00Z".into());
        assert_eq!(doc.content_hash(), other.content_hash());
        let (repriced, _) = mapper
            .doc(&widget(), &[price("7", "1", "1", "26")])
            .unwrap();
        assert_ne!(doc.content_hash(), repriced.content_hash());
        let mut renamed = doc.clone();
        renamed.description = None;
        assert_ne!(doc.content_hash(), renamed.content_hash());
    }

    #[test]
    fn the_sale_unit_becomes_the_quantity_unit_of_measure_and_no_unit_leaves_it_alone() {
        let (config, currencies) = config();
        let mapper = ItemMapper::new(&config, &currencies);
        let (plain, _) = mapper.doc(&widget(), &[]).unwrap();
        assert_eq!(plain.unit, None);
        assert!(!plain
            .product_fields()
            .iter()
            .any(|(f, _)| *f == "QuantityUnitOfMeasure"));
        let mut boxed = widget();
        boxed.insert("saleunit".into(), json!("Box of 12"));
        let (boxed, _) = mapper.doc(&boxed, &[]).unwrap();
        assert!(boxed
            .product_fields()
            .contains(&("QuantityUnitOfMeasure", json!("Box of 12"))));
        assert_ne!(plain.content_hash(), boxed.content_hash());
        // An item without units hashes as it did before units were read.
        let before = json!({ "name": "Standard Widget", "code": "WIDGET-100",
            "description": "A widget", "active": true, "family": "Hardware", "prices": [] });
        assert_eq!(
            plain.content_hash(),
            hex::encode(Sha256::digest(before.to_string().as_bytes()))
        );
    }
}

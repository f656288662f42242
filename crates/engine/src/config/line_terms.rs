//! Tax codes and units of measure on order lines (`orders.tax`, `orders.units`): what NetSuite
//! needs on each line to compute tax and to know what a quantity counts.
//!
//! - `orders.tax`: a line's tax code (a NetSuite `salesTaxItem` internal id) by the line's product
//!   code (`by_product`, Product2.ProductCode), else by the ISO 3166 code of the account's
//!   shipping country (`by_country`), else `default`. With no rule and no default, tax is off and
//!   an order is exactly what it was without this section; with any, a line no rule maps and no
//!   default covers is refused.
//! - `orders.units`: when `enabled`, a line's unit (the product's QuantityUnitOfMeasure, or the
//!   line field `line_field` when it is set and filled in) is carried to the order line as one of
//!   the units of the item's units type; a unit the item does not have is refused.
//!
//! Checked when the configuration loads: ids are internal ids ([`NetSuiteId`]), countries ISO
//! codes, the line field an API name. The flows apply it (`orders::line_terms`).

use std::collections::BTreeMap;

use isthmus_netsuite::NetSuiteId;
use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxCodes {
    /// Product2.ProductCode → tax code internal id.
    pub by_product: BTreeMap<String, NetSuiteId>,
    /// ISO 3166 alpha-2 code of the shipping country → tax code internal id.
    pub by_country: BTreeMap<String, NetSuiteId>,
    /// The tax code of a line no rule maps; none: such a line is refused (while tax is on).
    /// Also taken as a number (`ISTHMUS_ORDERS__TAX__DEFAULT=5` arrives as one).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "id_text_or_number"
    )]
    pub default: Option<NetSuiteId>,
}

impl TaxCodes {
    /// Whether orders carry tax codes: any rule or a default is configured.
    pub fn enabled(&self) -> bool {
        !self.by_product.is_empty() || !self.by_country.is_empty() || self.default.is_some()
    }

    /// The tax code of a line: by product code, else by shipping country, else the default.
    pub fn code_for(
        &self,
        product_code: Option<&str>,
        country: Option<&str>,
    ) -> Option<&NetSuiteId> {
        product_code
            .and_then(|code| self.by_product.get(code))
            .or_else(|| country.and_then(|c| self.by_country.get(c)))
            .or(self.default.as_ref())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(code) = self.by_product.keys().find(|c| c.trim().is_empty()) {
            return Err(ConfigError::Invalid(format!(
                "orders.tax.by_product: {code:?} is no product code"
            )));
        }
        let iso = |c: &str| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
        if let Some(country) = self.by_country.keys().find(|c| !iso(c)) {
            return Err(ConfigError::Invalid(format!(
                "orders.tax.by_country: {country:?} must be an ISO 3166 alpha-2 code such as \"DE\""
            )));
        }
        Ok(())
    }
}

/// An internal id written as text (`"5"`) or as a number (`5`), checked as [`NetSuiteId`].
fn id_text_or_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NetSuiteId>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    let raw = match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Number(number) => number.to_string(),
    };
    NetSuiteId::parse(&raw)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("{raw:?} is no NetSuite internal id")))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LineUnits {
    /// Carry each line's unit to the order (one SuiteQL read of the items' units per order).
    pub enabled: bool,
    /// OpportunityLineItem field naming a line's unit, before the product's
    /// QuantityUnitOfMeasure; empty: the product's only.
    pub line_field: String,
}

impl LineUnits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let field = &self.line_field;
        let api_name = field.len() <= 80
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !field.starts_with(|c: char| c.is_ascii_digit() || c == '_');
        if !api_name {
            return Err(ConfigError::Invalid(format!(
                "orders.units.line_field {field:?} must be empty or the API name of an \
                 OpportunityLineItem field"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(toml: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("isthmus.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load_from(Some(&path), Vec::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn tax_and_units_are_off_by_default() {
        let config = Config::load_from(None, Vec::new()).unwrap();
        assert!(!config.orders.tax.enabled());
        assert!(!config.orders.units.enabled);
    }

    #[test]
    fn a_line_takes_the_product_rule_then_the_country_rule_then_the_default() {
        let config = load(
            "[orders.tax]\ndefault = \"9\"\n[orders.tax.by_product]\n\"WIDGET-100\" = \"5\"\n\
             [orders.tax.by_country]\nDE = \"7\"\n",
        )
        .unwrap();
        let tax = &config.orders.tax;
        assert!(tax.enabled());
        let code = |p: Option<&str>, c: Option<&str>| tax.code_for(p, c).unwrap().to_string();
        assert_eq!(code(Some("WIDGET-100"), Some("DE")), "5");
        assert_eq!(code(Some("OTHER"), Some("DE")), "7");
        assert_eq!(code(Some("OTHER"), Some("FR")), "9");
        assert_eq!(code(None, None), "9");
    }

    #[test]
    fn ids_countries_and_line_fields_are_checked_when_the_config_loads() {
        for bad in [
            "[orders.tax]\ndefault = \"abc\"\n",
            "[orders.tax.by_country]\nGermany = \"7\"\n",
            "[orders.tax.by_product]\n\"X\" = \"1; DROP\"\n",
            "[orders.units]\nline_field = \"Unit__c, Id\"\n",
        ] {
            assert!(load(bad).is_err(), "{bad}");
        }
        let config = load("[orders.units]\nenabled = true\nline_field = \"Unit__c\"\n").unwrap();
        assert_eq!(config.orders.units.line_field, "Unit__c");
        let env = vec![("ISTHMUS_ORDERS__TAX__DEFAULT".to_string(), "5".to_string())];
        let config = Config::load_from(None, env).unwrap();
        assert_eq!(config.orders.tax.default.unwrap().as_str(), "5");
    }
}

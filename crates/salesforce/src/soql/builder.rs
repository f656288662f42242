//! [`Soql`]: a small query builder for the shapes the flows need — a field list (with child
//! subqueries), one object, conditions joined by `AND`, ordering, `LIMIT` and `OFFSET`.
//!
//! The builder never fails midway: the first invalid name or value is remembered and reported by
//! [`Soql::build`], so a chain reads as the query it makes.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};

use super::literal;
use crate::error::SalesforceError;

/// A value on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum SoqlValue {
    /// A string literal, escaped by [`literal`].
    Text(String),
    Integer(i64),
    /// A finite decimal number.
    Decimal(f64),
    Bool(bool),
    Null,
    /// A date literal, `2026-03-15`.
    Date(NaiveDate),
    /// A dateTime literal in UTC, `2026-03-15T08:30:00Z`.
    DateTime(DateTime<Utc>),
}

impl SoqlValue {
    fn render(&self) -> Result<String, String> {
        Ok(match self {
            Self::Text(text) => literal(text),
            Self::Integer(n) => n.to_string(),
            Self::Decimal(x) if x.is_finite() => x.to_string(),
            Self::Decimal(x) => return Err(format!("{x} is not a SOQL number")),
            Self::Bool(b) => b.to_string(),
            Self::Null => "null".to_owned(),
            Self::Date(date) => date.format("%Y-%m-%d").to_string(),
            Self::DateTime(at) => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident ($conv:expr)),* $(,)?) => {
        $(impl From<$t> for SoqlValue {
            fn from(value: $t) -> Self {
                Self::$variant($conv(value))
            }
        })*
    };
}

value_from! {
    &str => Text(str::to_owned),
    String => Text(std::convert::identity),
    &String => Text(String::clone),
    i64 => Integer(std::convert::identity),
    i32 => Integer(i64::from),
    u32 => Integer(i64::from),
    f64 => Decimal(std::convert::identity),
    bool => Bool(std::convert::identity),
    NaiveDate => Date(std::convert::identity),
    DateTime<Utc> => DateTime(std::convert::identity),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `LIKE`: `%` and `_` in the value are wildcards.
    Like,
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Like => "LIKE",
        }
    }
}

/// A SOQL `SELECT` under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Soql {
    fields: Vec<String>,
    from: String,
    conditions: Vec<String>,
    order: Vec<String>,
    limit: Option<u32>,
    offset: Option<u32>,
    error: Option<String>,
}

impl Soql {
    /// `SELECT field, …`.
    pub fn select(fields: &[&str]) -> Self {
        let mut query = Self {
            fields: Vec::with_capacity(fields.len()),
            from: String::new(),
            conditions: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
            error: None,
        };
        for field in fields {
            if query.check(field) {
                query.fields.push((*field).to_owned());
            }
        }
        query
    }

    /// Adds a child subquery to the field list: `(SELECT … FROM Contacts …)`; its `FROM` names the
    /// child relationship.
    pub fn subquery(mut self, child: Soql) -> Self {
        match child.build() {
            Ok(text) => self.fields.push(format!("({text})")),
            Err(err) => self.fail(err.to_string()),
        }
        self
    }

    /// `FROM sobject`.
    pub fn from(mut self, sobject: &str) -> Self {
        if self.check(sobject) {
            self.from = sobject.to_owned();
        }
        self
    }

    /// `WHERE field = value` (further conditions join with `AND`).
    pub fn where_eq(self, field: &str, value: impl Into<SoqlValue>) -> Self {
        self.and_cmp(field, Cmp::Eq, value)
    }

    /// `AND field = value`.
    pub fn and_eq(self, field: &str, value: impl Into<SoqlValue>) -> Self {
        self.and_cmp(field, Cmp::Eq, value)
    }

    /// `AND field <op> value`.
    pub fn and_cmp(mut self, field: &str, op: Cmp, value: impl Into<SoqlValue>) -> Self {
        if self.check(field) {
            match value.into().render() {
                Ok(value) => self
                    .conditions
                    .push(format!("{field} {} {value}", op.as_str())),
                Err(message) => self.fail(message),
            }
        }
        self
    }

    /// `WHERE field IN (…)`; an empty list is refused by [`Soql::build`].
    pub fn where_in<V: Into<SoqlValue>>(
        self,
        field: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.and_in(field, values)
    }

    /// `AND field IN (…)`; an empty list is refused by [`Soql::build`].
    pub fn and_in<V: Into<SoqlValue>>(
        self,
        field: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.set(field, "IN", values)
    }

    /// `AND field NOT IN (…)`; an empty list is refused by [`Soql::build`].
    pub fn and_not_in<V: Into<SoqlValue>>(
        self,
        field: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.set(field, "NOT IN", values)
    }

    /// `ORDER BY field` (ascending); call again for further keys.
    pub fn order_by(mut self, field: &str) -> Self {
        if self.check(field) {
            self.order.push(field.to_owned());
        }
        self
    }

    /// `ORDER BY field DESC`.
    pub fn order_by_desc(mut self, field: &str) -> Self {
        if self.check(field) {
            self.order.push(format!("{field} DESC"));
        }
        self
    }

    /// `LIMIT n`.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// `OFFSET n` (Salesforce allows at most 2,000).
    pub fn offset(mut self, n: u32) -> Self {
        self.offset = Some(n);
        self
    }

    /// The query text, or the first problem found while building it.
    pub fn build(&self) -> Result<String, SalesforceError> {
        if let Some(message) = &self.error {
            return Err(SalesforceError::InvalidRequest(message.clone()));
        }
        if self.fields.is_empty() {
            return Err(SalesforceError::InvalidRequest(
                "SOQL: no fields selected".into(),
            ));
        }
        if self.from.is_empty() {
            return Err(SalesforceError::InvalidRequest(
                "SOQL: no FROM object".into(),
            ));
        }
        let mut text = format!("SELECT {} FROM {}", self.fields.join(", "), self.from);
        if !self.conditions.is_empty() {
            let _ = write!(text, " WHERE {}", self.conditions.join(" AND "));
        }
        if !self.order.is_empty() {
            let _ = write!(text, " ORDER BY {}", self.order.join(", "));
        }
        if let Some(limit) = self.limit {
            let _ = write!(text, " LIMIT {limit}");
        }
        if let Some(offset) = self.offset {
            let _ = write!(text, " OFFSET {offset}");
        }
        Ok(text)
    }

    fn set<V: Into<SoqlValue>>(
        mut self,
        field: &str,
        op: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        if !self.check(field) {
            return self;
        }
        let rendered: Result<Vec<String>, String> =
            values.into_iter().map(|v| v.into().render()).collect();
        match rendered {
            Ok(values) if values.is_empty() => {
                self.fail(format!("SOQL: {field} {op} () with no values"));
            }
            Ok(values) => self
                .conditions
                .push(format!("{field} {op} ({})", values.join(", "))),
            Err(message) => self.fail(message),
        }
        self
    }

    /// Records the first invalid name; returns whether `name` is valid.
    fn check(&mut self, name: &str) -> bool {
        let valid = is_name(name);
        if !valid {
            self.fail(format!("SOQL: {name:?} is not a field or object name"));
        }
        valid
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, dot-separated for relationship paths.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_chain() {
        let query = Soql::select(&["Id", "Name", "Owner.Name"])
            .from("Account")
            .where_eq("Industry", "Retail")
            .and_in("Id", ["001A", "001B"])
            .order_by("Id")
            .limit(200)
            .build()
            .unwrap();
        assert_eq!(
            query,
            "SELECT Id, Name, Owner.Name FROM Account WHERE Industry = 'Retail' \
             AND Id IN ('001A', '001B') ORDER BY Id LIMIT 200"
        );
    }

    #[test]
    fn every_text_value_is_escaped() {
        let query = Soql::select(&["Id"])
            .from("Account")
            .where_eq("Name", "x' OR Name != '")
            .and_in("Site", ["a'b", "c\\"])
            .build()
            .unwrap();
        assert_eq!(
            query,
            r"SELECT Id FROM Account WHERE Name = 'x\' OR Name != \'' AND Site IN ('a\'b', 'c\\')"
        );
    }

    #[test]
    fn names_that_are_not_identifiers_are_refused() {
        for bad in [
            "Name = 'x' OR Id",
            "Id,Name",
            "",
            "1Field",
            "Account.",
            "Na-me",
            "Id)",
        ] {
            let err = Soql::select(&["Id"])
                .from("Account")
                .where_eq(bad, 1)
                .build();
            assert!(
                matches!(err, Err(SalesforceError::InvalidRequest(_))),
                "{bad:?} passed"
            );
        }
        assert!(Soql::select(&["Id; DELETE"])
            .from("Account")
            .build()
            .is_err());
        assert!(Soql::select(&["Id"]).from("Account WHERE").build().is_err());
        assert!(Soql::select(&["Id"])
            .from("Account")
            .order_by("Id DESC")
            .build()
            .is_err());
        assert!(Soql::select(&["Account__r.Owner_Id__c", "_x"])
            .from("C__c")
            .build()
            .is_ok());
    }

    #[test]
    fn values_render_as_soql_literals() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        let at = date.and_hms_opt(8, 30, 0).unwrap().and_utc();
        let query = Soql::select(&["Id"])
            .from("Opportunity")
            .and_cmp("CloseDate", Cmp::Ge, date)
            .and_cmp("SystemModstamp", Cmp::Gt, at)
            .and_eq("IsWon", true)
            .and_cmp("Amount", Cmp::Lt, 1500.5)
            .and_eq("Pricebook2Id", SoqlValue::Null)
            .and_cmp("Name", Cmp::Like, "Acme%")
            .build()
            .unwrap();
        assert_eq!(
            query,
            "SELECT Id FROM Opportunity WHERE CloseDate >= 2026-03-15 \
             AND SystemModstamp > 2026-03-15T08:30:00Z AND IsWon = true AND Amount < 1500.5 \
             AND Pricebook2Id = null AND Name LIKE 'Acme%'"
        );
        assert!(Soql::select(&["Id"])
            .from("A")
            .where_eq("X", f64::NAN)
            .build()
            .is_err());
    }

    #[test]
    fn empty_in_lists_and_missing_parts_are_refused() {
        let none: [&str; 0] = [];
        assert!(Soql::select(&["Id"])
            .from("Account")
            .where_in("Id", none)
            .build()
            .is_err());
        assert!(Soql::select(&["Id"]).build().is_err());
        assert!(Soql::select(&[]).from("Account").build().is_err());
    }

    #[test]
    fn subqueries_nest_in_the_field_list() {
        let query = Soql::select(&["Id"])
            .subquery(
                Soql::select(&["Id", "Email"])
                    .from("Contacts")
                    .order_by_desc("Email"),
            )
            .from("Account")
            .limit(10)
            .offset(20)
            .build()
            .unwrap();
        assert_eq!(
            query,
            "SELECT Id, (SELECT Id, Email FROM Contacts ORDER BY Email DESC) FROM Account \
             LIMIT 10 OFFSET 20"
        );
        let bad = Soql::select(&["Id"]).subquery(Soql::select(&["x y"]).from("Contacts"));
        assert!(bad.from("Account").build().is_err());
    }
}

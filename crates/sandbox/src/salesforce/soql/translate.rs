//! Resolution of a parsed SOQL query against the schema and translation to parameterised SQLite
//! SQL. Salesforce semantics carried over: text comparisons are case-insensitive, `!=` and `NOT IN`
//! match null values, `NOT` is two-valued, ids match in their 15- or 18-character form, and a parent
//! relationship (`Account.Name`) becomes a LEFT JOIN.

use rusqlite::types::Value as SqlValue;

use super::parser::{Condition, Literal, OrderItem, Query, SelectItem};
use crate::salesforce::error::ApiError;
use crate::salesforce::ids;
use crate::salesforce::schema::{self, Field, Kind, SObject};
use crate::time::sf_timestamp;

use super::errors::{malformed, no_such_column, type_mismatch, unknown_relationship};

/// A column of the generated SELECT and how it shapes the output record.
#[derive(Debug, Clone)]
pub enum Column {
    /// The record's own id (always column 0, used for `attributes.url`).
    Id,
    Field(&'static Field),
    /// A joined parent's id: null means the relationship itself is null.
    ParentId {
        relationship: &'static str,
        target: &'static SObject,
    },
    ParentField {
        relationship: &'static str,
        field: &'static Field,
    },
    /// The child's link to its parent (child subqueries only).
    Link,
}

#[derive(Debug)]
pub struct Plan {
    pub object: &'static SObject,
    pub count_only: bool,
    pub columns: Vec<Column>,
    select: String,
    from: String,
    filter: Option<String>,
    params: Vec<SqlValue>,
    order: String,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub children: Vec<ChildPlan>,
    /// For a child subquery: the child's field that points at the parent.
    link: Option<&'static str>,
}

#[derive(Debug)]
pub struct ChildPlan {
    pub relationship: &'static str,
    pub plan: Plan,
}

impl Plan {
    /// The SQL and parameters; a child plan is restricted to the children of `parents`.
    pub fn sql(&self, parents: &[String], with_paging: bool) -> (String, Vec<SqlValue>) {
        let mut params = self.params.clone();
        let mut conditions: Vec<String> = self.filter.iter().cloned().collect();
        if let Some(link) = self.link {
            let ids = parents;
            conditions.push(format!(
                "t0.\"{link}\" IN ({})",
                vec!["?"; ids.len()].join(", ")
            ));
            params.extend(ids.iter().cloned().map(SqlValue::Text));
        }
        let select = if self.count_only {
            "COUNT(*)".to_owned()
        } else {
            self.select.clone()
        };
        let mut sql = format!("SELECT {select} FROM {}", self.from);
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if !self.count_only {
            sql.push_str(&format!(" ORDER BY {}", self.order));
        }
        if with_paging && !self.count_only {
            let limit = self.limit.map_or(-1, |l| l as i64);
            sql.push_str(&format!(
                " LIMIT {limit} OFFSET {}",
                self.offset.unwrap_or(0)
            ));
        }
        (sql, params)
    }
}

pub fn translate(query: &Query) -> Result<Plan, ApiError> {
    let object = schema::sobject(&query.from).ok_or_else(|| ApiError::invalid_type(&query.from))?;
    Translator::new(object).plan(query, None)
}

struct Translator {
    object: &'static SObject,
    joins: Vec<(&'static str, &'static Field, &'static SObject)>,
    columns: Vec<Column>,
    params: Vec<SqlValue>,
}

impl Translator {
    fn new(object: &'static SObject) -> Self {
        Self {
            object,
            joins: Vec::new(),
            columns: vec![Column::Id],
            params: Vec::new(),
        }
    }

    fn plan(mut self, query: &Query, link: Option<&'static str>) -> Result<Plan, ApiError> {
        let count_only = query.select == [SelectItem::Count];
        let mut children = Vec::new();
        for item in &query.select {
            match item {
                SelectItem::Count if query.select.len() > 1 || link.is_some() => {
                    return Err(malformed(
                        "COUNT() must be the only element in the SELECT list",
                    ));
                }
                SelectItem::Count => {}
                SelectItem::Field(path) => {
                    let column = self.resolve_column(path)?;
                    if let Column::ParentField { relationship, .. } = column {
                        self.select_parent(relationship);
                    }
                    self.columns.push(column);
                }
                SelectItem::SubQuery(_) if link.is_some() => {
                    return Err(malformed(
                        "nested child relationship subqueries are not supported",
                    ));
                }
                SelectItem::SubQuery(sub) => children.push(self.child_plan(sub)?),
            }
        }
        if link.is_some() {
            self.columns.push(Column::Link);
        }
        let filter = query
            .filter
            .as_ref()
            .map(|c| self.condition(c))
            .transpose()?;
        let mut order: Vec<String> = query
            .order_by
            .iter()
            .map(|o| self.order_item(o))
            .collect::<Result<_, _>>()?;
        order.push("t0.rowid".to_owned());
        let select = self.select_clause(link);
        let from = self.tables_clause();
        Ok(Plan {
            object: self.object,
            count_only,
            columns: self.columns,
            select,
            from,
            filter,
            params: self.params,
            order: order.join(", "),
            limit: query.limit,
            offset: query.offset,
            children,
            link,
        })
    }

    fn child_plan(&self, sub: &Query) -> Result<ChildPlan, ApiError> {
        let relationship = self.object.child(&sub.from).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_TYPE",
                format!(
                    "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                    sub.from
                ),
            )
        })?;
        let child = schema::sobject(relationship.child)
            .ok_or_else(|| ApiError::internal("bad child object"))?;
        let plan = Translator::new(child).plan(sub, Some(relationship.field))?;
        Ok(ChildPlan {
            relationship: relationship.name,
            plan,
        })
    }

    fn select_clause(&self, link: Option<&str>) -> String {
        self.columns
            .iter()
            .map(|c| match c {
                Column::Id => "t0.\"Id\"".to_owned(),
                Column::Field(f) => format!("t0.\"{}\"", f.name),
                Column::ParentId { relationship, .. } => {
                    format!("{}.\"Id\"", self.alias(relationship))
                }
                Column::ParentField {
                    relationship,
                    field,
                } => format!("{}.\"{}\"", self.alias(relationship), field.name),
                Column::Link => format!("t0.\"{}\"", link.unwrap_or("Id")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn tables_clause(&self) -> String {
        let mut from = format!("\"{}\" t0", self.object.name);
        for (i, (_, field, target)) in self.joins.iter().enumerate() {
            from.push_str(&format!(
                " LEFT JOIN \"{}\" p{i} ON p{i}.\"Id\" = t0.\"{}\"",
                target.name, field.name
            ));
        }
        from
    }

    fn alias(&self, relationship: &str) -> String {
        let index = self
            .joins
            .iter()
            .position(|(r, _, _)| *r == relationship)
            .unwrap_or(0);
        format!("p{index}")
    }

    fn join(&mut self, relationship: &str) -> Option<(&'static str, &'static SObject)> {
        let field = self.object.parent(relationship)?;
        let Kind::Reference {
            target,
            relationship,
        } = field.kind
        else {
            return None;
        };
        let target = schema::sobject(target)?;
        if !self.joins.iter().any(|(r, _, _)| *r == relationship) {
            self.joins.push((relationship, field, target));
        }
        Some((relationship, target))
    }

    /// Makes the output carry the parent relationship object (null when the lookup is empty).
    fn select_parent(&mut self, relationship: &'static str) {
        let selected = self
            .columns
            .iter()
            .any(|c| matches!(c, Column::ParentId { relationship: r, .. } if *r == relationship));
        let target = self
            .joins
            .iter()
            .find(|(r, _, _)| *r == relationship)
            .map(|(_, _, t)| *t);
        if let (false, Some(target)) = (selected, target) {
            self.columns.push(Column::ParentId {
                relationship,
                target,
            });
        }
    }

    fn resolve_column(&mut self, path: &[String]) -> Result<Column, ApiError> {
        match path {
            [name] => Ok(Column::Field(self.base_field(name)?)),
            [qualifier, name]
                if self.object.parent(qualifier).is_none()
                    && qualifier.eq_ignore_ascii_case(self.object.name) =>
            {
                Ok(Column::Field(self.base_field(name)?))
            }
            [relationship, name] => {
                let (relationship, target) = self
                    .join(relationship)
                    .ok_or_else(|| unknown_relationship(relationship))?;
                let field = target
                    .field(name)
                    .ok_or_else(|| no_such_column(name, target))?;
                Ok(Column::ParentField {
                    relationship,
                    field,
                })
            }
            _ => Err(no_such_column(&path.join("."), self.object)),
        }
    }

    fn base_field(&self, name: &str) -> Result<&'static Field, ApiError> {
        self.object
            .field(name)
            .ok_or_else(|| no_such_column(name, self.object))
    }

    /// The SQL expression and field of a path used in WHERE or ORDER BY.
    fn expression(&mut self, path: &[String]) -> Result<(String, &'static Field), ApiError> {
        match self.resolve_column(path)? {
            Column::Field(f) => Ok((format!("t0.\"{}\"", f.name), f)),
            Column::ParentField {
                relationship,
                field,
            } => Ok((
                format!("{}.\"{}\"", self.alias(relationship), field.name),
                field,
            )),
            _ => Err(no_such_column(&path.join("."), self.object)),
        }
    }

    fn order_item(&mut self, item: &OrderItem) -> Result<String, ApiError> {
        let (expr, field) = self.expression(&item.field)?;
        let collate = if field.kind == Kind::Text {
            " COLLATE NOCASE"
        } else {
            ""
        };
        let direction = if item.descending { "DESC" } else { "ASC" };
        let nulls = if item.nulls_first { "FIRST" } else { "LAST" };
        Ok(format!("{expr}{collate} {direction} NULLS {nulls}"))
    }

    fn condition(&mut self, condition: &Condition) -> Result<String, ApiError> {
        match condition {
            Condition::And(parts) | Condition::Or(parts) => {
                let joiner = if matches!(condition, Condition::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| self.condition(p))
                    .collect::<Result<_, _>>()?;
                Ok(format!("({})", parts.join(joiner)))
            }
            Condition::Not(inner) => Ok(format!("NOT IFNULL({}, 0)", self.condition(inner)?)),
            Condition::Compare { field, op, value } => self.compare(field, op, value),
            Condition::In {
                field,
                negated,
                values,
            } => self.in_list(field, *negated, values),
        }
    }

    fn compare(&mut self, path: &[String], op: &str, value: &Literal) -> Result<String, ApiError> {
        let (expr, field) = self.expression(path)?;
        let collate = if field.kind == Kind::Text {
            " COLLATE NOCASE"
        } else {
            ""
        };
        if *value == Literal::Null {
            return match op {
                "=" => Ok(format!("{expr} IS NULL")),
                "!=" | "<>" => Ok(format!("{expr} IS NOT NULL")),
                _ => Err(malformed(&format!("invalid operator on null: {op}"))),
            };
        }
        if op == "LIKE" {
            let Literal::Str { like, .. } = value else {
                return Err(type_mismatch(field));
            };
            if !matches!(field.kind, Kind::Text | Kind::Id | Kind::Reference { .. }) {
                return Err(ApiError::bad_request(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid operator on field {}: LIKE", field.name),
                ));
            }
            self.params.push(SqlValue::Text(like.clone()));
            return Ok(format!("{expr} LIKE ? ESCAPE '\\'"));
        }
        if field.kind == Kind::Bool && !matches!(op, "=" | "!=" | "<>") {
            return Err(ApiError::bad_request(
                "INVALID_QUERY_FILTER_OPERATOR",
                format!("invalid operator on boolean field {}: {op}", field.name),
            ));
        }
        let bound = bind(field, value)?;
        self.params.push(bound);
        Ok(match op {
            "!=" | "<>" => format!("({expr} IS NULL OR {expr} <> ?{collate})"),
            op => format!("{expr} {op} ?{collate}"),
        })
    }

    fn in_list(
        &mut self,
        path: &[String],
        negated: bool,
        values: &[Literal],
    ) -> Result<String, ApiError> {
        let (expr, field) = self.expression(path)?;
        let collate = if field.kind == Kind::Text {
            " COLLATE NOCASE"
        } else {
            ""
        };
        let has_null = values.contains(&Literal::Null);
        let bound: Vec<SqlValue> = values
            .iter()
            .filter(|v| **v != Literal::Null)
            .map(|v| bind(field, v))
            .collect::<Result<_, _>>()?;
        let list = vec!["?"; bound.len()].join(", ");
        self.params.extend(bound);
        let membership = if list.is_empty() {
            "0".to_owned()
        } else {
            format!("{expr}{collate} IN ({list})")
        };
        Ok(match (negated, has_null) {
            (false, false) => membership,
            (false, true) => format!("({expr} IS NULL OR {membership})"),
            (true, false) => format!("({expr} IS NULL OR NOT {membership})"),
            (true, true) => format!("({expr} IS NOT NULL AND NOT {membership})"),
        })
    }
}

/// A literal as a value comparable with the stored column of `field`.
fn bind(field: &Field, value: &Literal) -> Result<SqlValue, ApiError> {
    match (field.kind, value) {
        (Kind::Text, Literal::Str { plain, .. }) => Ok(SqlValue::Text(plain.clone())),
        (Kind::Id | Kind::Reference { .. }, Literal::Str { plain, .. }) => {
            ids::normalize(plain).map(SqlValue::Text).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid ID field: {plain}"),
                )
            })
        }
        (Kind::Bool, Literal::Bool(b)) => Ok(SqlValue::Integer(i64::from(*b))),
        (Kind::DateTime, Literal::DateTime(dt)) => Ok(SqlValue::Text(sf_timestamp(*dt))),
        _ => Err(type_mismatch(field)),
    }
}

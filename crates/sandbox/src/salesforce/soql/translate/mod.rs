//! Resolution of a parsed SOQL query against the schema and translation to parameterised SQLite
//! SQL. Salesforce semantics carried over: text comparisons are case-insensitive, `!=` and `NOT IN`
//! match null values, `NOT` is two-valued, ids match in their 15- or 18-character form, a parent
//! relationship (`Account.Name`) becomes a LEFT JOIN, and rows without an ORDER BY come back in
//! creation order.
//!
//! - [`columns`]: field paths, parent joins and the SELECT list.
//! - [`filter`]: WHERE and HAVING, including date literals and semi-joins.
//! - [`aggregate`]: aggregate functions and GROUP BY.
//!
//! A query over all rows (`queryAll`) reads every table together with its recycle bin.

mod aggregate;
mod columns;
mod filter;

use rusqlite::types::Value as SqlValue;

use super::ast::{Function, Query, SelectItem};
use super::errors::malformed;
use crate::salesforce::error::ApiError;
use crate::salesforce::schema::{self, Field, Kind, SObject};
use crate::salesforce::store;

/// The largest OFFSET Salesforce accepts.
pub const MAX_OFFSET: u64 = 2000;

/// Which rows a query sees: live ones (`query`), or live and deleted ones (`queryAll`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Live,
    All,
}

/// What the query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Records with `attributes` (and child subqueries).
    Records,
    /// `COUNT()`: only `totalSize`.
    Count,
    /// `AggregateResult` rows of GROUP BY keys and aggregate values.
    Aggregate,
}

/// A column of the generated SELECT and how it shapes the output record.
#[derive(Debug, Clone)]
pub enum Column {
    /// The record's own id (always column 0 of a record query, used for `attributes.url`).
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
    /// A GROUP BY key of an aggregate query, output under `key`.
    Grouped {
        key: String,
        field: &'static Field,
        sql: String,
    },
    /// An aggregate value, output under its alias or `exprN`.
    Aggregate {
        key: String,
        function: Function,
        field: &'static Field,
        sql: String,
    },
}

#[derive(Debug)]
pub struct Plan {
    pub object: &'static SObject,
    pub shape: Shape,
    pub columns: Vec<Column>,
    select: String,
    from: String,
    filter: Option<String>,
    params: Vec<SqlValue>,
    /// `GROUP BY … [HAVING …]` and the HAVING parameters.
    grouping: Option<(String, Vec<SqlValue>)>,
    order: Vec<String>,
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
            conditions.push(format!(
                "t0.\"{link}\" IN ({})",
                vec!["?"; parents.len()].join(", ")
            ));
            params.extend(parents.iter().cloned().map(SqlValue::Text));
        }
        let mut sql = format!("SELECT {} FROM {}", self.select, self.from);
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if let Some((grouping, having_params)) = &self.grouping {
            sql.push(' ');
            sql.push_str(grouping);
            params.extend(having_params.iter().cloned());
        }
        if !self.order.is_empty() && self.shape != Shape::Count {
            sql.push_str(&format!(" ORDER BY {}", self.order.join(", ")));
        }
        if with_paging {
            let limit = self.limit.map_or(-1, |l| l as i64);
            sql.push_str(&format!(
                " LIMIT {limit} OFFSET {}",
                self.offset.unwrap_or(0)
            ));
        }
        if self.shape == Shape::Count {
            sql = format!("SELECT COUNT(*) FROM ({sql})");
        }
        (sql, params)
    }
}

pub fn translate(query: &Query, scope: Scope) -> Result<Plan, ApiError> {
    let object = schema::sobject(&query.from).ok_or_else(|| ApiError::invalid_type(&query.from))?;
    Translator::new(object, scope).plan(query, None)
}

struct Translator {
    object: &'static SObject,
    scope: Scope,
    joins: Vec<(&'static str, &'static Field, &'static SObject)>,
    columns: Vec<Column>,
    params: Vec<SqlValue>,
    /// In an aggregate query: the GROUP BY expressions, which HAVING and ORDER BY may use.
    groups: Option<Vec<String>>,
    /// Set while translating HAVING and the ORDER BY of an aggregate query.
    aggregates_allowed: bool,
    /// Set inside a semi-join subquery, which cannot nest another.
    in_semi_join: bool,
}

impl Translator {
    fn new(object: &'static SObject, scope: Scope) -> Self {
        Self {
            object,
            scope,
            joins: Vec::new(),
            columns: vec![Column::Id],
            params: Vec::new(),
            groups: None,
            aggregates_allowed: false,
            in_semi_join: false,
        }
    }

    fn plan(mut self, query: &Query, link: Option<&'static str>) -> Result<Plan, ApiError> {
        if query.offset.is_some_and(|o| o > MAX_OFFSET) {
            return Err(ApiError::bad_request(
                "NUMBER_OUTSIDE_VALID_RANGE",
                format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
            ));
        }
        let count_only = query.select == [SelectItem::Count];
        let aggregate = !count_only
            && (!query.group_by.is_empty()
                || query
                    .select
                    .iter()
                    .any(|i| matches!(i, SelectItem::Aggregate { .. })));
        if (aggregate || count_only) && link.is_some() {
            return Err(malformed(
                "Aggregate functions are not supported in child relationship subqueries",
            ));
        }
        if aggregate {
            return self.aggregate_plan(query);
        }
        let mut children = Vec::new();
        for item in &query.select {
            match item {
                SelectItem::Count if !count_only => {
                    return Err(malformed(
                        "COUNT() must be the only element in the SELECT list",
                    ));
                }
                SelectItem::Count => {}
                SelectItem::Field { alias: Some(_), .. } => {
                    return Err(malformed("Only aggregate expressions use field aliasing"));
                }
                SelectItem::Field { path, .. } => {
                    let column = self.resolve_column(path)?;
                    if let Column::ParentField { relationship, .. } = column {
                        self.select_parent(relationship);
                    }
                    self.columns.push(column);
                }
                SelectItem::Aggregate { .. } => {}
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
        let params = std::mem::take(&mut self.params);
        let grouping = if count_only && !query.group_by.is_empty() {
            let (_, keys) = self.group_expressions(&query.group_by)?;
            Some((format!("GROUP BY {}", keys.join(", ")), Vec::new()))
        } else {
            None
        };
        let mut order: Vec<String> = query
            .order_by
            .iter()
            .map(|o| self.order_item(o))
            .collect::<Result<_, _>>()?;
        order.push("t0.\"Id\"".to_owned());
        let select = if count_only {
            "1".to_owned()
        } else {
            self.select_clause(link)
        };
        Ok(Plan {
            object: self.object,
            shape: if count_only {
                Shape::Count
            } else {
                Shape::Records
            },
            from: self.tables_clause(),
            columns: self.columns,
            select,
            filter,
            params,
            grouping,
            order,
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
        let plan = Translator::new(child, self.scope).plan(sub, Some(relationship.field))?;
        Ok(ChildPlan {
            relationship: relationship.name,
            plan,
        })
    }

    /// The table of `object` as this query sees it (with the recycle bin for `queryAll`).
    fn table(&self, object: &SObject) -> String {
        match self.scope {
            Scope::Live => format!("\"{}\"", object.name),
            Scope::All => format!(
                "(SELECT * FROM \"{0}\" UNION ALL SELECT * FROM \"{1}\")",
                object.name,
                store::recycle_bin(object)
            ),
        }
    }
}

/// Text compares and sorts case-insensitively.
fn collate(field: &Field) -> &'static str {
    if field.kind.is_text() {
        " COLLATE NOCASE"
    } else {
        ""
    }
}

/// Whether a field holds record ids (the only fields a semi-join can match on).
fn is_id(field: &Field) -> bool {
    matches!(field.kind, Kind::Id | Kind::Reference { .. })
}

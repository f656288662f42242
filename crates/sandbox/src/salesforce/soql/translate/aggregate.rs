//! Aggregate queries: `COUNT(field)`, `COUNT_DISTINCT`, `SUM`, `AVG`, `MIN`, `MAX`, with GROUP BY
//! and HAVING. Each result row is an `AggregateResult` keyed by the grouped field's name (or its
//! alias) and by `expr0`, `expr1`, … for unaliased aggregates, as Salesforce names them. Every
//! selected field must be grouped; groups come back in ascending key order unless ORDER BY says
//! otherwise.

use super::super::ast::{Function, Query, SelectItem};
use super::super::errors::malformed;
use super::{collate, Column, Plan, Shape, Translator};
use crate::salesforce::error::ApiError;
use crate::salesforce::schema::{Field, Kind, NumberType};

/// The field a count is typed as (`COUNT(…)` compares with numbers).
static COUNT: Field = Field {
    name: "COUNT",
    kind: Kind::Number(NumberType::Double),
    required: false,
    read_only: true,
    external_id: false,
    unique: false,
};

impl Translator {
    pub(super) fn aggregate_plan(mut self, query: &Query) -> Result<Plan, ApiError> {
        self.columns.clear();
        let (groups, keys) = self.group_expressions(&query.group_by)?;
        let mut unnamed = 0;
        for item in &query.select {
            let column = match item {
                SelectItem::Field { path, alias } => {
                    let (sql, field) = self.expression(path)?;
                    if !groups.contains(&sql) {
                        return Err(malformed(&format!(
                            "Field must be grouped or aggregated: {}",
                            path.join(".")
                        )));
                    }
                    Column::Grouped {
                        key: alias.clone().unwrap_or_else(|| field.name.to_owned()),
                        field,
                        sql,
                    }
                }
                SelectItem::Aggregate {
                    function,
                    path,
                    alias,
                } => {
                    let (sql, field) = self.aggregate(*function, path)?;
                    let key = alias.clone().unwrap_or_else(|| {
                        unnamed += 1;
                        format!("expr{}", unnamed - 1)
                    });
                    Column::Aggregate {
                        key,
                        function: *function,
                        field,
                        sql,
                    }
                }
                SelectItem::Count => {
                    return Err(malformed(
                        "COUNT() must be the only element in the SELECT list",
                    ))
                }
                SelectItem::SubQuery(_) => {
                    return Err(malformed(
                        "Aggregate queries do not support child relationship subqueries",
                    ))
                }
            };
            self.columns.push(column);
        }
        let filter = query
            .filter
            .as_ref()
            .map(|c| self.condition(c))
            .transpose()?;
        let params = std::mem::take(&mut self.params);
        self.groups = Some(groups);
        self.aggregates_allowed = true;
        let having = query
            .having
            .as_ref()
            .map(|c| self.condition(c))
            .transpose()?;
        let mut order: Vec<String> = query
            .order_by
            .iter()
            .map(|o| self.order_item(o))
            .collect::<Result<_, _>>()?;
        order.extend(keys.iter().map(|k| format!("{k} ASC NULLS FIRST")));
        let grouping = (!keys.is_empty()).then(|| {
            let mut clause = format!("GROUP BY {}", keys.join(", "));
            if let Some(having) = having {
                clause.push_str(&format!(" HAVING {having}"));
            }
            (clause, std::mem::take(&mut self.params))
        });
        Ok(Plan {
            object: self.object,
            shape: Shape::Aggregate,
            select: self.select_clause(None),
            from: self.tables_clause(),
            columns: self.columns,
            filter,
            params,
            grouping,
            order,
            limit: query.limit,
            offset: query.offset,
            children: Vec::new(),
            link: None,
        })
    }

    /// The GROUP BY fields: their SQL expressions, and the grouping keys (text grouped
    /// case-insensitively).
    pub(super) fn group_expressions(
        &mut self,
        paths: &[Vec<String>],
    ) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let mut expressions = Vec::new();
        let mut keys = Vec::new();
        for path in paths {
            let (sql, field) = self.expression(path)?;
            keys.push(format!("{sql}{}", collate(field)));
            expressions.push(sql);
        }
        Ok((expressions, keys))
    }

    /// An aggregate function over a field: its SQL and the field its value is typed as.
    pub(super) fn aggregate(
        &mut self,
        function: Function,
        path: &[String],
    ) -> Result<(String, &'static Field), ApiError> {
        let (expr, field) = self.expression(path)?;
        let numeric = matches!(field.kind, Kind::Number(_));
        let orderable = numeric
            || field.kind.is_text()
            || matches!(
                field.kind,
                Kind::Date | Kind::DateTime | Kind::Id | Kind::Reference { .. }
            );
        let collate = collate(field);
        Ok(match function {
            Function::Count => (format!("COUNT({expr})"), &COUNT),
            Function::CountDistinct => (format!("COUNT(DISTINCT {expr}{collate})"), &COUNT),
            Function::Sum | Function::Avg if numeric => {
                let name = if function == Function::Sum {
                    "SUM"
                } else {
                    "AVG"
                };
                (format!("{name}({expr})"), field)
            }
            Function::Min | Function::Max if orderable => {
                let name = if function == Function::Min {
                    "MIN"
                } else {
                    "MAX"
                };
                (format!("{name}({expr}{collate})"), field)
            }
            _ => {
                return Err(malformed(&format!(
                    "field {} does not support aggregate operator {function:?}",
                    field.name
                )))
            }
        })
    }
}

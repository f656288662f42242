//! Field paths: the record's own fields, parent fields through a LEFT JOIN per relationship
//! (`Account.Name`, `CreatedBy.Name`), the SELECT list and the FROM clause they need.

use super::super::ast::{Operand, OrderItem};
use super::super::errors::{malformed, no_such_column, unknown_relationship};
use super::{collate, Column, Translator};
use crate::salesforce::error::ApiError;
use crate::salesforce::schema::{self, Field, Kind, SObject};

impl Translator {
    pub(super) fn select_clause(&self, link: Option<&str>) -> String {
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
                Column::Grouped { sql, .. } | Column::Aggregate { sql, .. } => sql.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn tables_clause(&self) -> String {
        let mut from = format!("{} t0", self.table(self.object));
        for (i, (_, field, target)) in self.joins.iter().enumerate() {
            from.push_str(&format!(
                " LEFT JOIN {} p{i} ON p{i}.\"Id\" = t0.\"{}\"",
                self.table(target),
                field.name
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
    pub(super) fn select_parent(&mut self, relationship: &'static str) {
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

    pub(super) fn resolve_column(&mut self, path: &[String]) -> Result<Column, ApiError> {
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

    /// The SQL expression and field of a path used in WHERE, GROUP BY or ORDER BY.
    pub(super) fn expression(
        &mut self,
        path: &[String],
    ) -> Result<(String, &'static Field), ApiError> {
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

    /// A field or aggregate in a condition or ORDER BY. In the HAVING and ORDER BY of an aggregate
    /// query a field must be one of the GROUP BY fields.
    pub(super) fn operand(
        &mut self,
        operand: &Operand,
    ) -> Result<(String, &'static Field), ApiError> {
        match operand {
            Operand::Field(path) => {
                let (expr, field) = self.expression(path)?;
                match &self.groups {
                    Some(groups) if self.aggregates_allowed && !groups.contains(&expr) => Err(
                        malformed(&format!("Field must be grouped or aggregated: {}", path.join("."))),
                    ),
                    _ => Ok((expr, field)),
                }
            }
            Operand::Aggregate(function, path) if self.aggregates_allowed => {
                self.aggregate(*function, path)
            }
            Operand::Aggregate(..) => Err(malformed(
                "Aggregate functions are only allowed in the SELECT list, HAVING and the ORDER BY of an aggregate query",
            )),
        }
    }

    pub(super) fn order_item(&mut self, item: &OrderItem) -> Result<String, ApiError> {
        let (expr, field) = self.operand(&item.operand)?;
        let collate = if matches!(item.operand, Operand::Field(_)) {
            collate(field)
        } else {
            ""
        };
        let direction = if item.descending { "DESC" } else { "ASC" };
        let nulls = if item.nulls_first { "FIRST" } else { "LAST" };
        Ok(format!("{expr}{collate} {direction} NULLS {nulls}"))
    }
}

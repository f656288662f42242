//! WHERE and HAVING conditions. A date literal compares as the range of days it names
//! (`CloseDate = THIS_MONTH` is within the month, `CloseDate > THIS_MONTH` after it); a semi-join
//! (`Id IN (SELECT AccountId FROM Contact …)`) becomes an uncorrelated SQL subquery, and an
//! anti-join (`NOT IN`) also matches null ids, as `NOT IN` does for literal lists.

use chrono::NaiveDate;
use rusqlite::types::Value as SqlValue;

use super::super::ast::{Condition, Literal, Operand, Query, SelectItem};
use super::super::dates::RelativeDate;
use super::super::errors::{malformed, type_mismatch};
use super::{collate, is_id, Translator};
use crate::salesforce::error::ApiError;
use crate::salesforce::ids;
use crate::salesforce::schema::{self, Field, Kind};
use crate::time::{now, sf_timestamp};

impl Translator {
    pub(super) fn condition(&mut self, condition: &Condition) -> Result<String, ApiError> {
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
            Condition::Compare { operand, op, value } => self.compare(operand, op, value),
            Condition::In {
                operand,
                negated,
                values,
            } => self.in_list(operand, *negated, values),
            Condition::SemiJoin {
                field,
                negated,
                query,
            } => self.semi_join(field, *negated, query),
        }
    }

    fn compare(
        &mut self,
        operand: &Operand,
        op: &str,
        value: &Literal,
    ) -> Result<String, ApiError> {
        let (expr, field) = self.operand(operand)?;
        let collate = collate(field);
        if *value == Literal::Null {
            return match op {
                "=" => Ok(format!("{expr} IS NULL")),
                "!=" | "<>" => Ok(format!("{expr} IS NOT NULL")),
                _ => Err(malformed(&format!("invalid operator on null: {op}"))),
            };
        }
        if let Literal::Relative(relative) = value {
            return self.compare_range(&expr, field, op, *relative);
        }
        if op == "LIKE" {
            let Literal::Str { like, .. } = value else {
                return Err(type_mismatch(field));
            };
            if !(field.kind.is_text() || is_id(field)) {
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

    /// A comparison with a date literal's range `[start, end)`.
    fn compare_range(
        &mut self,
        expr: &str,
        field: &Field,
        op: &str,
        relative: RelativeDate,
    ) -> Result<String, ApiError> {
        let (start, end) = date_bounds(field, relative)?;
        let (sql, bounds) = match op {
            "=" => (format!("({expr} >= ? AND {expr} < ?)"), vec![start, end]),
            "!=" | "<>" => (
                format!("({expr} IS NULL OR {expr} < ? OR {expr} >= ?)"),
                vec![start, end],
            ),
            "<" => (format!("{expr} < ?"), vec![start]),
            "<=" => (format!("{expr} < ?"), vec![end]),
            ">" => (format!("{expr} >= ?"), vec![end]),
            ">=" => (format!("{expr} >= ?"), vec![start]),
            _ => return Err(type_mismatch(field)),
        };
        self.params.extend(bounds);
        Ok(sql)
    }

    fn in_list(
        &mut self,
        operand: &Operand,
        negated: bool,
        values: &[Literal],
    ) -> Result<String, ApiError> {
        let (expr, field) = self.operand(operand)?;
        let has_null = values.contains(&Literal::Null);
        let (mut listed, mut ranges, mut range_params) = (Vec::new(), Vec::new(), Vec::new());
        for value in values {
            match value {
                Literal::Null => {}
                Literal::Relative(relative) => {
                    let (start, end) = date_bounds(field, *relative)?;
                    ranges.push(format!("({expr} >= ? AND {expr} < ?)"));
                    range_params.extend([start, end]);
                }
                value => listed.push(bind(field, value)?),
            }
        }
        let mut alternatives = Vec::new();
        if !listed.is_empty() {
            let list = vec!["?"; listed.len()].join(", ");
            alternatives.push(format!("{expr}{} IN ({list})", collate(field)));
        }
        alternatives.extend(ranges);
        self.params.extend(listed);
        self.params.extend(range_params);
        let membership = match alternatives.len() {
            0 => "0".to_owned(),
            1 => alternatives.remove(0),
            _ => format!("({})", alternatives.join(" OR ")),
        };
        Ok(match (negated, has_null) {
            (false, false) => membership,
            (false, true) => format!("({expr} IS NULL OR {membership})"),
            (true, false) => format!("({expr} IS NULL OR NOT {membership})"),
            (true, true) => format!("({expr} IS NOT NULL AND NOT {membership})"),
        })
    }

    /// `field [NOT] IN (SELECT idField FROM Object [WHERE …])`.
    fn semi_join(
        &mut self,
        path: &[String],
        negated: bool,
        query: &Query,
    ) -> Result<String, ApiError> {
        if self.in_semi_join {
            return Err(malformed(
                "Nesting of semi join sub-selects is not supported",
            ));
        }
        let (expr, field) = self.expression(path)?;
        let object =
            schema::sobject(&query.from).ok_or_else(|| ApiError::invalid_type(&query.from))?;
        let [SelectItem::Field {
            path: inner_path,
            alias: None,
        }] = query.select.as_slice()
        else {
            return Err(malformed(
                "A semi join sub-select must select exactly one ID field",
            ));
        };
        if !query.group_by.is_empty()
            || !query.order_by.is_empty()
            || query.limit.is_some()
            || query.offset.is_some()
        {
            return Err(malformed(
                "GROUP BY, ORDER BY, LIMIT and OFFSET are not supported in a semi join sub-select",
            ));
        }
        let mut inner = Translator::new(object, self.scope);
        inner.in_semi_join = true;
        let (inner_expr, inner_field) = inner.expression(inner_path)?;
        if !is_id(field) || !is_id(inner_field) {
            return Err(malformed(
                "semi join sub-selects are only supported on ID fields and reference fields",
            ));
        }
        let mut conditions = vec![format!("{inner_expr} IS NOT NULL")];
        if let Some(filter) = &query.filter {
            conditions.push(inner.condition(filter)?);
        }
        let sql = format!(
            "SELECT {inner_expr} FROM {} WHERE {}",
            inner.tables_clause(),
            conditions.join(" AND ")
        );
        self.params.extend(inner.params);
        Ok(if negated {
            format!("({expr} IS NULL OR {expr} NOT IN ({sql}))")
        } else {
            format!("{expr} IN ({sql})")
        })
    }
}

/// A date literal's range as values comparable with `field`'s stored text.
fn date_bounds(field: &Field, relative: RelativeDate) -> Result<(SqlValue, SqlValue), ApiError> {
    let (start, end) = relative
        .range(now().date_naive())
        .ok_or_else(|| malformed("date literal out of range"))?;
    let stored = |day: NaiveDate| match field.kind {
        Kind::Date => Ok(SqlValue::Text(day.format("%Y-%m-%d").to_string())),
        Kind::DateTime => Ok(SqlValue::Text(sf_timestamp(
            day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        ))),
        _ => Err(type_mismatch(field)),
    };
    Ok((stored(start)?, stored(end)?))
}

/// A literal as a value comparable with the stored column of `field`.
fn bind(field: &Field, value: &Literal) -> Result<SqlValue, ApiError> {
    match (field.kind, value) {
        (kind, Literal::Str { plain, .. }) if kind.is_text() => Ok(SqlValue::Text(plain.clone())),
        (Kind::Number(_), Literal::Number(n)) => n
            .parse()
            .map(SqlValue::Real)
            .map_err(|_| type_mismatch(field)),
        (Kind::Date, Literal::Date(d)) => Ok(SqlValue::Text(d.format("%Y-%m-%d").to_string())),
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

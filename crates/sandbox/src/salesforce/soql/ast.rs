//! The parsed form of a SOQL query, before it is resolved against the schema.

use chrono::{DateTime, NaiveDate, Utc};

use super::dates::RelativeDate;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub filter: Option<Condition>,
    pub group_by: Vec<Vec<String>>,
    pub having: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field path, e.g. `["Name"]` or `["Account", "Name"]`, with an optional alias (aggregate
    /// queries only).
    Field {
        path: Vec<String>,
        alias: Option<String>,
    },
    /// `COUNT()`: only the number of matching rows.
    Count,
    /// `COUNT(Id)`, `SUM(Amount) total`, …
    Aggregate {
        function: Function,
        path: Vec<String>,
        alias: Option<String>,
    },
    SubQuery(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl Function {
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: &[(&str, Function)] = &[
            ("COUNT", Function::Count),
            ("COUNT_DISTINCT", Function::CountDistinct),
            ("SUM", Function::Sum),
            ("AVG", Function::Avg),
            ("MIN", Function::Min),
            ("MAX", Function::Max),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| *f)
    }
}

/// What a condition or an ORDER BY item refers to: a field, or an aggregate of one (HAVING and
/// the ORDER BY of an aggregate query).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(Vec<String>),
    Aggregate(Function, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        operand: Operand,
        op: &'static str,
        value: Literal,
    },
    In {
        operand: Operand,
        negated: bool,
        values: Vec<Literal>,
    },
    /// `Id IN (SELECT AccountId FROM Contact …)` (or `NOT IN`, an anti-join).
    SemiJoin {
        field: Vec<String>,
        negated: bool,
        query: Box<Query>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str {
        plain: String,
        like: String,
    },
    Number(String),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// A date literal such as `TODAY` or `LAST_N_DAYS:30`: a range of days relative to today.
    Relative(RelativeDate),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub operand: Operand,
    pub descending: bool,
    pub nulls_first: bool,
}

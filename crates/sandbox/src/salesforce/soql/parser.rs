//! Recursive-descent parser for the SOQL subset:
//!
//! ```text
//! query     := SELECT items FROM ident [WHERE or] [ORDER BY order {, order}] [LIMIT n] [OFFSET n]
//! items     := COUNT() | item {, item}        item := path | '(' query ')'
//! or        := and {OR and}                   and  := not {AND not}
//! not       := NOT not | '(' or ')' | path op literal | path [NOT] IN '(' literal {, literal} ')'
//! order     := path [ASC|DESC] [NULLS FIRST|LAST]
//! ```
//!
//! As in Salesforce, AND and OR cannot be mixed at one level without parentheses.

use chrono::{DateTime, NaiveDate, Utc};

use super::lexer::Token;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field path, e.g. `["Name"]` or `["Account", "Name"]`.
    Field(Vec<String>),
    Count,
    SubQuery(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        field: Vec<String>,
        op: &'static str,
        value: Literal,
    },
    In {
        field: Vec<String>,
        negated: bool,
        values: Vec<Literal>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str { plain: String, like: String },
    Number(String),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: Vec<String>,
    pub descending: bool,
    pub nulls_first: bool,
}

pub fn parse(tokens: Vec<Token>) -> Result<Query, String> {
    let mut parser = Parser { tokens, pos: 0 };
    let query = parser.query()?;
    match parser.peek() {
        None => Ok(query),
        Some(token) => Err(format!("unexpected token: '{token}'")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of query")?;
        self.pos += 1;
        Ok(token)
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.at_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), String> {
        if self.eat_keyword(keyword) {
            return Ok(());
        }
        match self.peek() {
            Some(token) => Err(format!(
                "unexpected token: '{token}', expecting '{keyword}'"
            )),
            None => Err(format!("unexpected end of query, expecting '{keyword}'")),
        }
    }

    fn expect(&mut self, expected: Token) -> Result<(), String> {
        match self.next()? {
            token if token == expected => Ok(()),
            token => Err(format!(
                "unexpected token: '{token}', expecting '{expected}'"
            )),
        }
    }

    fn query(&mut self) -> Result<Query, String> {
        self.expect_keyword("SELECT")?;
        let select = self.select_items()?;
        self.expect_keyword("FROM")?;
        let from = self.identifier()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.peek() != Some(&Token::Comma) {
                    break;
                }
                self.pos += 1;
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.integer()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.integer()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn select_items(&mut self) -> Result<Vec<SelectItem>, String> {
        if self.at_keyword("COUNT") && self.tokens.get(self.pos + 1) == Some(&Token::LParen) {
            self.pos += 2;
            self.expect(Token::RParen)?;
            return Ok(vec![SelectItem::Count]);
        }
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Token::LParen) {
                self.pos += 1;
                let sub = self.query()?;
                self.expect(Token::RParen)?;
                items.push(SelectItem::SubQuery(Box::new(sub)));
            } else {
                items.push(SelectItem::Field(self.path()?));
            }
            if self.peek() != Some(&Token::Comma) {
                return Ok(items);
            }
            self.pos += 1;
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.next()? {
            Token::Ident(name) if !is_reserved(&name) => Ok(name),
            token => Err(format!("unexpected token: '{token}'")),
        }
    }

    fn path(&mut self) -> Result<Vec<String>, String> {
        let name = self.identifier()?;
        if name.split('.').any(str::is_empty) || name.contains(':') {
            return Err(format!("unexpected token: '{name}'"));
        }
        Ok(name.split('.').map(str::to_owned).collect())
    }

    fn integer(&mut self) -> Result<u64, String> {
        match self.next()? {
            Token::Number(n) => n.parse().map_err(|_| format!("unexpected token: '{n}'")),
            token => Err(format!("unexpected token: '{token}'")),
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, String> {
        let field = self.path()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                true
            } else {
                self.expect_keyword("LAST")?;
                false
            }
        } else {
            !descending
        };
        Ok(OrderItem {
            field,
            descending,
            nulls_first,
        })
    }

    fn or(&mut self) -> Result<Condition, String> {
        let first = self.not()?;
        let connector = if self.at_keyword("AND") {
            "AND"
        } else if self.at_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.eat_keyword(connector) {
            parts.push(self.not()?);
        }
        let other = if connector == "AND" { "OR" } else { "AND" };
        if self.at_keyword(other) {
            return Err(format!("unexpected token: '{other}'"));
        }
        Ok(if connector == "AND" {
            Condition::And(parts)
        } else {
            Condition::Or(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Token::RParen)?;
            return Ok(inner);
        }
        let field = self.path()?;
        if self.eat_keyword("NOT") {
            self.expect_keyword("IN")?;
            return Ok(Condition::In {
                field,
                negated: true,
                values: self.literal_list()?,
            });
        }
        if self.eat_keyword("IN") {
            return Ok(Condition::In {
                field,
                negated: false,
                values: self.literal_list()?,
            });
        }
        let op = match self.next()? {
            Token::Op(op) => op,
            Token::Ident(word) if word.eq_ignore_ascii_case("LIKE") => "LIKE",
            token => return Err(format!("unexpected token: '{token}'")),
        };
        Ok(Condition::Compare {
            field,
            op,
            value: self.literal()?,
        })
    }

    fn literal_list(&mut self) -> Result<Vec<Literal>, String> {
        self.expect(Token::LParen)?;
        let mut values = vec![self.literal()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            values.push(self.literal()?);
        }
        self.expect(Token::RParen)?;
        Ok(values)
    }

    fn literal(&mut self) -> Result<Literal, String> {
        Ok(match self.next()? {
            Token::Str { plain, like } => Literal::Str { plain, like },
            Token::Number(n) => Literal::Number(n),
            Token::Date(d) => Literal::Date(d),
            Token::DateTime(d) => Literal::DateTime(d),
            Token::Ident(word) if word.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Token::Ident(word) if word.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Token::Ident(word) if word.eq_ignore_ascii_case("null") => Literal::Null,
            token => return Err(format!("unexpected token: '{token}'")),
        })
    }
}

fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT",
        "OFFSET", "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse_str(soql: &str) -> Result<Query, String> {
        parse(tokenize(soql)?)
    }

    #[test]
    fn parses_fields_subquery_filter_order_limit_offset() {
        let q = parse_str(
            "SELECT Id, Account.Name, (SELECT LastName FROM Contacts) FROM Contact \
             WHERE (Name = 'a' OR Name LIKE 'b%') AND NOT Id IN ('x') ORDER BY Name DESC NULLS FIRST, Id LIMIT 5 OFFSET 2",
        )
        .unwrap();
        assert_eq!(q.select.len(), 3);
        assert_eq!(
            q.select[1],
            SelectItem::Field(vec!["Account".into(), "Name".into()])
        );
        assert!(matches!(q.filter, Some(Condition::And(ref parts)) if parts.len() == 2));
        assert_eq!(
            q.order_by[0],
            OrderItem {
                field: vec!["Name".into()],
                descending: true,
                nulls_first: true
            }
        );
        assert!(q.order_by[1].nulls_first);
        assert_eq!((q.limit, q.offset), (Some(5), Some(2)));
    }

    #[test]
    fn count_query_parses() {
        assert_eq!(
            parse_str("select count() from Account").unwrap().select,
            vec![SelectItem::Count]
        );
    }

    #[test]
    fn mixing_and_or_without_parentheses_is_malformed() {
        assert!(
            parse_str("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
                .is_err()
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(parse_str("SELECT FROM Account").is_err());
        assert!(parse_str("SELECT Id Account").is_err());
        assert!(parse_str("SELECT Id FROM Account WHERE").is_err());
        assert!(parse_str("SELECT Id FROM Account LIMIT x").is_err());
        assert!(parse_str("SELECT Id FROM Account WHERE Name = 'a' extra").is_err());
    }
}

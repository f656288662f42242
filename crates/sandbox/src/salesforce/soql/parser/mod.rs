//! Recursive-descent parser for the SOQL subset:
//!
//! ```text
//! query     := SELECT items FROM ident [WHERE or] [GROUP BY path {, path} [HAVING or]]
//!              [ORDER BY order {, order}] [LIMIT n] [OFFSET n]
//! items     := COUNT() | item {, item}
//! item      := path [alias] | function '(' path ')' [alias] | '(' query ')'
//! or        := and {OR and}                   and  := not {AND not}
//! not       := NOT not | '(' or ')' | operand op literal
//!            | operand [NOT] IN '(' literal {, literal} ')' | path [NOT] IN '(' query ')'
//! operand   := path | function '(' path ')'
//! order     := operand [ASC|DESC] [NULLS FIRST|LAST]
//! literal   := string | number | date | datetime | TRUE | FALSE | NULL | date literal
//! ```
//!
//! As in Salesforce, AND and OR cannot be mixed at one level without parentheses.

use super::ast::{Condition, Function, Literal, Operand, OrderItem, Query, SelectItem};
use super::dates::RelativeDate;
use super::lexer::Token;

#[cfg(test)]
mod tests;

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

    /// Items separated by commas, at least one.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let mut items = vec![item(self)?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn query(&mut self) -> Result<Query, String> {
        self.expect_keyword("SELECT")?;
        let select = self.select_items()?;
        self.expect_keyword("FROM")?;
        let from = self.object_name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let (mut group_by, mut having) = (Vec::new(), None);
        if self.eat_keyword("GROUP") {
            self.expect_keyword("BY")?;
            group_by = self.list(Self::path)?;
            if self.eat_keyword("HAVING") {
                having = Some(self.or()?);
            }
        }
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            order_by = self.list(Self::order_item)?;
        }
        let limit = self
            .eat_keyword("LIMIT")
            .then(|| self.integer())
            .transpose()?;
        let offset = self
            .eat_keyword("OFFSET")
            .then(|| self.integer())
            .transpose()?;
        Ok(Query {
            select,
            from,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
        })
    }

    fn select_items(&mut self) -> Result<Vec<SelectItem>, String> {
        if self.at_keyword("COUNT")
            && self.tokens.get(self.pos + 1) == Some(&Token::LParen)
            && self.tokens.get(self.pos + 2) == Some(&Token::RParen)
        {
            self.pos += 3;
            return Ok(vec![SelectItem::Count]);
        }
        self.list(Self::select_item)
    }

    fn select_item(&mut self) -> Result<SelectItem, String> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let sub = self.query()?;
            self.expect(Token::RParen)?;
            return Ok(SelectItem::SubQuery(Box::new(sub)));
        }
        Ok(match self.operand()? {
            Operand::Field(path) => SelectItem::Field {
                path,
                alias: self.alias(),
            },
            Operand::Aggregate(function, path) => SelectItem::Aggregate {
                function,
                path,
                alias: self.alias(),
            },
        })
    }

    fn alias(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Ident(name)) if !is_reserved(name) && !name.contains(['.', ':']) => {
                let alias = name.clone();
                self.pos += 1;
                Some(alias)
            }
            _ => None,
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.next()? {
            Token::Ident(name) if !is_reserved(&name) => Ok(name),
            token => Err(format!("unexpected token: '{token}'")),
        }
    }

    /// The object after `FROM`. `Order` is an object there: `ORDER` is a keyword only as the
    /// start of `ORDER BY`, and an object name always follows `FROM`.
    fn object_name(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Token::Ident(name)) if name.eq_ignore_ascii_case("Order") => {
                let name = name.clone();
                self.pos += 1;
                Ok(name)
            }
            _ => self.identifier(),
        }
    }

    fn path(&mut self) -> Result<Vec<String>, String> {
        let name = self.identifier()?;
        if name.split('.').any(str::is_empty) || name.contains(':') {
            return Err(format!("unexpected token: '{name}'"));
        }
        Ok(name.split('.').map(str::to_owned).collect())
    }

    /// A field path, or an aggregate function applied to one.
    fn operand(&mut self) -> Result<Operand, String> {
        if self.tokens.get(self.pos + 1) == Some(&Token::LParen) {
            if let Some(Token::Ident(name)) = self.peek() {
                let function = Function::from_name(name)
                    .ok_or_else(|| format!("unknown function: '{name}'"))?;
                self.pos += 2;
                let path = self.path()?;
                self.expect(Token::RParen)?;
                return Ok(Operand::Aggregate(function, path));
            }
        }
        Ok(Operand::Field(self.path()?))
    }

    fn integer(&mut self) -> Result<u64, String> {
        match self.next()? {
            Token::Number(n) => n.parse().map_err(|_| format!("unexpected token: '{n}'")),
            token => Err(format!("unexpected token: '{token}'")),
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, String> {
        let operand = self.operand()?;
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
            operand,
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
        let operand = self.operand()?;
        let negated = self.eat_keyword("NOT");
        if negated || self.at_keyword("IN") {
            self.expect_keyword("IN")?;
            return self.membership(operand, negated);
        }
        let op = match self.next()? {
            Token::Op(op) => op,
            Token::Ident(word) if word.eq_ignore_ascii_case("LIKE") => "LIKE",
            token => return Err(format!("unexpected token: '{token}'")),
        };
        Ok(Condition::Compare {
            operand,
            op,
            value: self.literal()?,
        })
    }

    /// After `[NOT] IN`: a literal list, or a semi-join subquery.
    fn membership(&mut self, operand: Operand, negated: bool) -> Result<Condition, String> {
        self.expect(Token::LParen)?;
        if self.at_keyword("SELECT") {
            let Operand::Field(field) = operand else {
                return Err("unexpected token: 'SELECT'".to_owned());
            };
            let query = self.query()?;
            self.expect(Token::RParen)?;
            return Ok(Condition::SemiJoin {
                field,
                negated,
                query: Box::new(query),
            });
        }
        let values = self.list(Self::literal)?;
        self.expect(Token::RParen)?;
        Ok(Condition::In {
            operand,
            negated,
            values,
        })
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
            Token::Ident(word) => match RelativeDate::parse(&word) {
                Some(relative) => Literal::Relative(relative),
                None => return Err(format!("unexpected token: '{word}'")),
            },
            token => return Err(format!("unexpected token: '{token}'")),
        })
    }
}

fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "GROUP", "HAVING", "ORDER",
        "BY", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

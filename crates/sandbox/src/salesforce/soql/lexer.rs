//! SOQL tokens. String literals carry two forms: the plain value (escapes resolved) and a LIKE
//! pattern for SQLite's `LIKE … ESCAPE '\'`, where SOQL's `\%` and `\_` stay literal characters.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// An identifier or keyword, possibly dotted (`Account.Name`).
    Ident(String),
    Str {
        plain: String,
        like: String,
    },
    Number(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Ident(s) | Token::Number(s) => f.write_str(s),
            Token::Str { plain, .. } => write!(f, "'{plain}'"),
            Token::Date(d) => write!(f, "{d}"),
            Token::DateTime(d) => write!(f, "{}", d.to_rfc3339()),
            Token::Op(op) => f.write_str(op),
            Token::LParen => f.write_str("("),
            Token::RParen => f.write_str(")"),
            Token::Comma => f.write_str(","),
        }
    }
}

pub fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => push(&mut tokens, Token::LParen, &mut i),
            ')' => push(&mut tokens, Token::RParen, &mut i),
            ',' => push(&mut tokens, Token::Comma, &mut i),
            '=' => push(&mut tokens, Token::Op("="), &mut i),
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let op = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "<>",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                tokens.push(Token::Op(op));
                i += op.len();
            }
            '\'' => {
                let (token, next) = string_literal(&chars, i + 1)?;
                tokens.push(token);
                i = next;
            }
            c if c.is_ascii_digit()
                || (c == '-' || c == '+') && chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '.' | ':' | '-' | '+'))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                tokens.push(number_or_date(&text)?);
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | ':'))
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected token: '{other}'")),
        }
    }
    Ok(tokens)
}

fn push(tokens: &mut Vec<Token>, token: Token, i: &mut usize) {
    tokens.push(token);
    *i += 1;
}

fn string_literal(chars: &[char], mut i: usize) -> Result<(Token, usize), String> {
    let (mut plain, mut like) = (String::new(), String::new());
    loop {
        let c = *chars.get(i).ok_or("unterminated string literal")?;
        i += 1;
        match c {
            '\'' => return Ok((Token::Str { plain, like }, i)),
            '\\' => {
                let escaped = *chars.get(i).ok_or("unterminated string literal")?;
                i += 1;
                let value = match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '\'' | '"' | '\\' | '%' | '_' => escaped,
                    other => {
                        return Err(format!(
                            "Invalid string literal: illegal escape sequence \\{other}"
                        ))
                    }
                };
                plain.push(value);
                if matches!(value, '%' | '_' | '\\') {
                    like.push('\\');
                }
                like.push(value);
            }
            c => {
                plain.push(c);
                like.push(c);
            }
        }
    }
}

fn number_or_date(text: &str) -> Result<Token, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Token::Date(date));
    }
    if text.len() > 10 && text.as_bytes().get(10) == Some(&b'T') {
        let normalized = text
            .strip_suffix('Z')
            .map(|t| format!("{t}+0000"))
            .unwrap_or_else(|| text.to_owned());
        for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
            if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(&normalized, format) {
                return Ok(Token::DateTime(dt.with_timezone(&Utc)));
            }
        }
        return Err(format!(
            "line 1:0 no viable alternative at character '{text}'"
        ));
    }
    if text
        .trim_start_matches(['-', '+'])
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.')
        && text.matches('.').count() <= 1
    {
        return Ok(Token::Number(text.to_owned()));
    }
    Err(format!("unexpected token: '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escapes_resolve_and_like_wildcards_stay_escaped() {
        let tokens = tokenize(r"'O\'Brien \\ Sons' '50\%'").unwrap();
        assert_eq!(
            tokens[0],
            Token::Str {
                plain: r"O'Brien \ Sons".into(),
                like: r"O'Brien \\ Sons".into()
            }
        );
        assert_eq!(
            tokens[1],
            Token::Str {
                plain: "50%".into(),
                like: r"50\%".into()
            }
        );
    }

    #[test]
    fn dates_datetimes_numbers_and_operators_tokenize() {
        let tokens =
            tokenize("a >= 2026-01-02T03:04:05Z AND b < 2026-01-02 AND c <> -1.5").unwrap();
        assert!(matches!(tokens[2], Token::DateTime(_)));
        assert_eq!(
            tokens[6],
            Token::Date(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap())
        );
        assert_eq!(tokens[9], Token::Op("<>"));
        assert_eq!(tokens[10], Token::Number("-1.5".into()));
    }

    #[test]
    fn datetimes_with_offsets_are_converted_to_utc() {
        let utc = |s: &str| match tokenize(s).unwrap()[0] {
            Token::DateTime(dt) => dt.to_rfc3339(),
            ref other => panic!("not a datetime: {other:?}"),
        };
        assert_eq!(
            utc("2026-01-12T10:30:00+01:00"),
            "2026-01-12T09:30:00+00:00"
        );
        assert_eq!(
            utc("2026-01-12T01:00:00-08:00"),
            "2026-01-12T09:00:00+00:00"
        );
        assert_eq!(
            utc("2026-01-12T09:00:00.250Z"),
            "2026-01-12T09:00:00.250+00:00"
        );
        assert_eq!(utc("2026-01-12T09:00:00+0530"), "2026-01-12T03:30:00+00:00");
    }
}

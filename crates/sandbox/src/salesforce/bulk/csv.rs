//! The CSV dialect of Bulk API 2.0: RFC 4180 quoting (a field in double quotes may hold the
//! delimiter, line breaks and `""` for a quote), one of six column delimiters and one of two line
//! endings, both named by the job (`columnDelimiter`, `lineEnding`).
//!
//! Guarantees: [`parse`] accepts exactly what [`write`] produces for the same dialect, and refuses
//! an unterminated quote, text after a closing quote and (for an `LF` job) a `CRLF` line ending, as
//! Salesforce does ("LineEnding is invalid on user data"). Non-goals: encodings other than UTF-8.

use serde::Serialize;

/// `columnDelimiter`: the six values Bulk API 2.0 accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Delimiter {
    Backquote,
    Caret,
    Comma,
    Pipe,
    Semicolon,
    Tab,
}

impl Delimiter {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "BACKQUOTE" => Self::Backquote,
            "CARET" => Self::Caret,
            "COMMA" => Self::Comma,
            "PIPE" => Self::Pipe,
            "SEMICOLON" => Self::Semicolon,
            "TAB" => Self::Tab,
            _ => return None,
        })
    }

    pub fn char(self) -> char {
        match self {
            Self::Backquote => '`',
            Self::Caret => '^',
            Self::Comma => ',',
            Self::Pipe => '|',
            Self::Semicolon => ';',
            Self::Tab => '\t',
        }
    }
}

/// `lineEnding`: `LF` or `CRLF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "LF" => Some(Self::Lf),
            "CRLF" => Some(Self::Crlf),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Lf => "\n",
            Self::Crlf => "\r\n",
        }
    }
}

/// A job's CSV dialect.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub delimiter: Delimiter,
    pub line_ending: LineEnding,
}

/// Splits `text` into rows of fields. Empty lines (a trailing line ending) are skipped.
pub fn parse(text: &str, dialect: Dialect) -> Result<Vec<Vec<String>>, String> {
    let delimiter = dialect.delimiter.char();
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted_field = false;
    let mut line = 1usize;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() && !quoted_field => {
                quoted_field = true;
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated quoted field on line {line}")),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                match chars.peek() {
                    None | Some('\n' | '\r') => {}
                    Some(&c) if c == delimiter => {}
                    Some(_) => return Err(format!("text after a closing quote on line {line}")),
                }
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {
                if dialect.line_ending == LineEnding::Lf {
                    return Err(invalid_line_ending("LF"));
                }
                chars.next();
                end_row(&mut rows, &mut row, &mut field);
                quoted_field = false;
                line += 1;
            }
            '\n' => {
                if dialect.line_ending == LineEnding::Crlf {
                    return Err(invalid_line_ending("CRLF"));
                }
                end_row(&mut rows, &mut row, &mut field);
                quoted_field = false;
                line += 1;
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() || quoted_field {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

fn invalid_line_ending(setting: &str) -> String {
    format!("LineEnding is invalid on user data. Current LineEnding setting is {setting}")
}

/// Ends the current row; a row that is one empty field (an empty line) is dropped.
fn end_row(rows: &mut Vec<Vec<String>>, row: &mut Vec<String>, field: &mut String) {
    row.push(std::mem::take(field));
    if row.len() == 1 && row[0].is_empty() {
        row.clear();
    } else {
        rows.push(std::mem::take(row));
    }
}

/// One row in `dialect`, every field quoted (as Salesforce writes its result files).
pub fn write_row(out: &mut String, fields: &[&str], dialect: Dialect) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(dialect.delimiter.char());
        }
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    }
    out.push_str(dialect.line_ending.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMA_LF: Dialect = Dialect {
        delimiter: Delimiter::Comma,
        line_ending: LineEnding::Lf,
    };

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_line_breaks() {
        let rows = parse(
            "Name,Description\n\"A, Inc\",\"say \"\"hi\"\"\nthere\"\nB,\n",
            COMMA_LF,
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["Name", "Description"],
                vec!["A, Inc", "say \"hi\"\nthere"],
                vec!["B", ""],
            ]
        );
    }

    #[test]
    fn written_rows_parse_back() {
        let dialect = Dialect {
            delimiter: Delimiter::Pipe,
            line_ending: LineEnding::Crlf,
        };
        let mut out = String::new();
        write_row(&mut out, &["a|b", "c\"d"], dialect);
        write_row(&mut out, &["", "x"], dialect);
        assert_eq!(
            parse(&out, dialect).unwrap(),
            vec![vec!["a|b", "c\"d"], vec!["", "x"]]
        );
    }

    #[test]
    fn malformed_text_is_refused() {
        assert!(parse("Name\n\"open", COMMA_LF).is_err());
        assert!(parse("Name\n\"a\"b\n", COMMA_LF).is_err());
        assert!(parse("Name\r\nA\r\n", COMMA_LF).is_err());
    }
}

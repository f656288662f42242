//! SOQL built safely. Record data is only ever placed in a query through [`literal`], which
//! escapes every character that SOQL treats specially inside quotes, so a value can never end
//! the literal early and alter the query; the [`Soql`] builder renders every value that way and
//! checks every object and field name against `[A-Za-z_][A-Za-z0-9_]*` (dot-separated for
//! relationships), so data cannot become SOQL through a name either.

mod builder;

pub use builder::{Cmp, Soql, SoqlValue};

/// Quotes `value` as a SOQL string literal: `O'Brien` becomes `'O\'Brien'`.
///
/// Escapes `'`, `"`, `\`, newline, carriage return, tab, backspace and form feed, the escape
/// sequences the SOQL reference lists for quoted strings.
pub fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn wraps_plain_text_in_single_quotes() {
        assert_eq!(literal("Acme"), "'Acme'");
        assert_eq!(literal(""), "''");
    }

    #[test]
    fn escapes_quotes() {
        assert_eq!(literal("O'Brien"), r"'O\'Brien'");
        assert_eq!(literal(r#"say "hi""#), r#"'say \"hi\"'"#);
    }

    #[test]
    fn escapes_backslashes_before_they_can_escape_the_closing_quote() {
        assert_eq!(literal(r"C:\"), r"'C:\\'");
        assert_eq!(literal(r"\'"), r"'\\\''");
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(literal("a\nb\rc\td"), r"'a\nb\rc\td'");
        assert_eq!(literal("\u{8}\u{c}"), r"'\b\f'");
    }

    #[test]
    fn injection_attempt_stays_inside_the_literal() {
        let hostile = "x' OR Name != '";
        let quoted = literal(hostile);
        assert_eq!(quoted, r"'x\' OR Name != \''");
        // Every quote inside is escaped: only the first and last are unescaped.
        let unescaped = quoted
            .char_indices()
            .filter(|&(i, c)| c == '\'' && (i == 0 || &quoted[i - 1..i] != "\\"))
            .count();
        assert_eq!(unescaped, 2);
    }

    #[test]
    fn keeps_unicode() {
        assert_eq!(literal("Zürich — 東京"), "'Zürich — 東京'");
    }
}

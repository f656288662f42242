//! SuiteQL string literals. Record data is only ever placed in a query through [`literal`]:
//! SuiteQL follows SQL (Oracle) quoting, where a quote inside a literal is doubled and a backslash
//! has no special meaning, so a value can never end the literal early.

/// Quotes `value` as a SuiteQL string literal: `O'Brien` becomes `'O''Brien'`.
pub fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn doubles_single_quotes() {
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert_eq!(literal("''"), "''''''");
    }

    #[test]
    fn leaves_everything_else_as_is() {
        assert_eq!(literal(""), "''");
        assert_eq!(literal(r#"C:\ "x" %_"#), r#"'C:\ "x" %_'"#);
        assert_eq!(literal("line\nbreak"), "'line\nbreak'");
    }

    #[test]
    fn injection_attempt_stays_inside_the_literal() {
        let quoted = literal("x' OR 1=1 --");
        assert_eq!(quoted, "'x'' OR 1=1 --'");
        // Inside the outer quotes, quotes only ever come in pairs.
        let inner = &quoted[1..quoted.len() - 1];
        assert!(inner.replace("''", "").find('\'').is_none());
    }
}

//! Properties of what stands between a caller's text and NetSuite: the internal id parser and
//! the SuiteQL literal. Any input is answered (never a panic); what passes is canonical.

use isthmus_netsuite::suiteql::literal;
use isthmus_netsuite::NetSuiteId;
use proptest::prelude::*;

/// Reads one SQL (Oracle-style) string literal from the start of `text`, as SuiteQL does: a
/// doubled quote is a quote, a backslash is itself. Returns the value and the rest.
fn read_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices().peekable();
    let body = &text[1..];
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().map(|(_, n)| *n) == Some('\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Some((value, &body[i + 1..]));
        }
        value.push(c);
    }
    None
}

proptest! {
    #[test]
    fn every_canonical_number_round_trips(n in 1u64..) {
        let text = n.to_string();
        let id = NetSuiteId::parse(&text).unwrap();
        prop_assert_eq!(id.as_str(), text.as_str());
        prop_assert_eq!(id.to_string().parse::<u64>().unwrap(), n);
    }

    #[test]
    fn a_leading_zero_is_never_taken(n in 0u64.., zeros in 1usize..4) {
        let text = format!("{}{n}", "0".repeat(zeros));
        prop_assert!(NetSuiteId::parse(&text).is_err(), "{}", text);
    }

    #[test]
    fn any_text_is_taken_only_when_canonical_digits(raw in "\\PC{0,24}|[0-9]{0,24}") {
        let canonical = !raw.is_empty()
            && raw.len() <= 20
            && raw.bytes().all(|b| b.is_ascii_digit())
            && !raw.starts_with('0');
        prop_assert_eq!(NetSuiteId::parse(&raw).is_ok(), canonical);
    }

    #[test]
    fn any_string_reads_back_from_its_suiteql_literal_and_ends_it(value in "\\PC*|['\\\\ ]{0,12}") {
        let quoted = literal(&value);
        let (read, rest) = read_literal(&quoted).expect("a closed literal");
        prop_assert_eq!(read, value);
        prop_assert_eq!(rest, "", "nothing after the literal: it cannot be broken out of");
    }
}

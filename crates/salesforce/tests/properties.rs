//! Properties of what stands between a caller's text and Salesforce: the id parser (15 and
//! 18 characters, checksum, key prefix) and the SOQL literal.

use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_salesforce::soql::literal;
use proptest::prelude::*;

/// Reads one SOQL string literal from the start of `text` (backslash escapes as the SOQL
/// reference lists them). Returns the value and the rest; `None` on an escape SOQL refuses.
fn read_literal(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('\'')?;
    let mut chars = body.char_indices();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Some((value, &body[i + 1..])),
            '\\' => value.push(match chars.next()?.1 {
                '\'' => '\'',
                '"' => '"',
                '\\' => '\\',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'f' => '\u{c}',
                _ => return None,
            }),
            c => value.push(c),
        }
    }
    None
}

proptest! {
    #[test]
    fn a_15_character_id_gains_the_checksum_that_its_18_character_form_carries(
        id15 in "[a-zA-Z0-9]{15}"
    ) {
        let id = SalesforceId::parse(&id15).unwrap();
        prop_assert_eq!(id.as_str().len(), 18);
        prop_assert_eq!(id.to_15(), id15.as_str());
        let again = SalesforceId::parse(id.as_str()).unwrap();
        prop_assert_eq!(again, id);
    }

    #[test]
    fn a_case_folded_18_character_id_is_the_same_record(id15 in "[a-zA-Z0-9]{15}") {
        let id = SalesforceId::parse(&id15).unwrap();
        for folded in [id.as_str().to_ascii_lowercase(), id.as_str().to_ascii_uppercase()] {
            prop_assert_eq!(SalesforceId::parse(&folded).unwrap(), id.clone());
        }
    }

    #[test]
    fn a_mixed_case_id_with_another_ids_checksum_never_names_a_third(
        id15 in "[a-z0-9]{7}[A-Z][a-z0-9]{6}[a-zA-Z]", at in 0usize..15
    ) {
        let id = SalesforceId::parse(&id15).unwrap();
        let mut flipped = id15.clone().into_bytes();
        prop_assume!(flipped[at].is_ascii_alphabetic());
        flipped[at] ^= 0x20; // the other case
        let flipped = String::from_utf8(flipped).unwrap();
        let forged = format!("{flipped}{}", &id.as_str()[15..]);
        match SalesforceId::parse(&forged) {
            Err(_) => {}
            Ok(parsed) => prop_assert_eq!(parsed, id, "{} named another record", forged),
        }
    }

    #[test]
    fn any_text_is_answered_and_only_ids_pass(raw in "\\PC{0,20}") {
        if let Ok(id) = SalesforceId::parse(&raw) {
            prop_assert!(raw.len() == 15 || raw.len() == 18);
            prop_assert!(raw.bytes().all(|b| b.is_ascii_alphanumeric()));
            let same_record = id.as_str()[..15].eq_ignore_ascii_case(&raw[..15]);
            prop_assert!(same_record, "{} parsed as {}", raw, id);
        }
    }

    #[test]
    fn an_id_of_another_object_is_refused_as_an_account(id15 in "00[2-9][a-zA-Z0-9]{12}") {
        prop_assert!(SalesforceId::parse_as(&id15, SObject::Account).is_err());
    }

    #[test]
    fn any_string_reads_back_from_its_soql_literal_and_ends_it(value in "\\PC*|['\"\\\\\n\r\t ]{0,12}") {
        let quoted = literal(&value);
        let (read, rest) = read_literal(&quoted).expect("a closed literal with known escapes");
        prop_assert_eq!(read, value);
        prop_assert_eq!(rest, "", "nothing after the literal: it cannot be broken out of");
    }
}

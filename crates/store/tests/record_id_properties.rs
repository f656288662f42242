//! Properties of the id of what Isthmus keeps: any text is answered, only 32 lower-case hex
//! characters pass, and a new id always parses as itself.

use isthmus_store::RecordId;
use proptest::prelude::*;

proptest! {
    #[test]
    fn only_32_lower_case_hex_characters_pass(raw in "\\PC{0,40}|[0-9a-fA-F]{30,34}") {
        let valid = raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        prop_assert_eq!(RecordId::parse(&raw).is_ok(), valid);
    }

    #[test]
    fn an_id_round_trips(raw in "[0-9a-f]{32}") {
        let id = RecordId::parse(&raw).unwrap();
        prop_assert_eq!(id.as_str(), raw.as_str());
    }
}

#[test]
fn a_new_id_parses_as_itself() {
    for _ in 0..100 {
        let id = RecordId::new();
        assert_eq!(RecordId::parse(id.as_str()), Ok(id));
    }
}

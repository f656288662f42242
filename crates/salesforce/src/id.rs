//! Salesforce record ids, always held in the 18-character form.
//!
//! A 15-character id is case-sensitive; the 18-character form appends three checksum characters
//! that encode the case of the first fifteen, which makes it safe to compare case-insensitively.
//! [`SalesforceId::parse`] accepts both: a 15-character id gets its checksum; an 18-character id is
//! checked against its checksum. An 18-character id whose first fifteen letters are all of one case
//! (as a case-folding system would leave it) has its case restored from the checksum; one in mixed
//! case must match its checksum exactly, or it is rejected.

use std::fmt;

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// A record id in its canonical 18-character form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SalesforceId(String);

/// Why a string is not a Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a Salesforce id has 15 or 18 characters, not {0}")]
    Length(usize),
    #[error("a Salesforce id holds only ASCII letters and digits")]
    Character,
    #[error("the last three characters of the 18-character id do not match its checksum")]
    Checksum,
    #[error("{} {} id starts with {}, not {found}", expected.article(), expected.name(), expected.key_prefix())]
    Object { expected: SObject, found: String },
}

/// The objects whose ids callers hand to Isthmus, each known by its key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SObject {
    Account,
    Contact,
    Opportunity,
    Product2,
    Quote,
}

impl SObject {
    /// The API name (`Account`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Account => "Account",
            Self::Contact => "Contact",
            Self::Opportunity => "Opportunity",
            Self::Product2 => "Product2",
            Self::Quote => "Quote",
        }
    }

    /// The first three characters of every id of this object.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Account => "001",
            Self::Contact => "003",
            Self::Opportunity => "006",
            Self::Product2 => "01t",
            Self::Quote => "0Q0",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Self::Account | Self::Opportunity => "an",
            Self::Product2 | Self::Quote | Self::Contact => "a",
        }
    }

    /// "an Account id", for messages.
    pub fn id_noun(self) -> String {
        format!("{} {} id", self.article(), self.name())
    }
}

impl SalesforceId {
    /// Parses a 15- or 18-character id (see the module docs for the case rules).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::Character);
        }
        match s.len() {
            15 => Ok(Self(format!("{s}{}", checksum(s.as_bytes())))),
            18 => parse_18(s).map(Self),
            n => Err(IdError::Length(n)),
        }
    }

    /// Parses an id of `object`: a valid id with any other key prefix is refused.
    pub fn parse_as(s: &str, object: SObject) -> Result<Self, IdError> {
        let id = Self::parse(s)?;
        if id.key_prefix() != object.key_prefix() {
            return Err(IdError::Object {
                expected: object,
                found: id.key_prefix().to_string(),
            });
        }
        Ok(id)
    }

    /// Whether this is an id of `object`.
    pub fn is(&self, object: SObject) -> bool {
        self.key_prefix() == object.key_prefix()
    }

    /// The 18-character id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first three characters, naming the object type (`001` is Account).
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The case-sensitive 15-character form.
    pub fn to_15(&self) -> &str {
        &self.0[..15]
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SalesforceId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for SalesforceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserializing checks the id as [`SalesforceId::parse`] does.
impl<'de> serde::Deserialize<'de> for SalesforceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for SalesforceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The three checksum characters of a 15-character id: for each block of five characters, a
/// bit per position set when that character is an upper-case letter, as an index into A-Z0-5.
fn checksum(id15: &[u8]) -> String {
    id15.chunks(5)
        .map(|block| {
            let bits = block
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            char::from(CHECKSUM_ALPHABET[bits])
        })
        .collect()
}

fn parse_18(s: &str) -> Result<String, IdError> {
    let (body, suffix) = s.split_at(15);
    let suffix = suffix.to_ascii_uppercase();
    if checksum(body.as_bytes()) == suffix {
        return Ok(format!("{body}{suffix}"));
    }
    let has_upper = body.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = body.bytes().any(|b| b.is_ascii_lowercase());
    if has_upper && has_lower {
        return Err(IdError::Checksum);
    }
    let restored = restore_case(body.as_bytes(), suffix.as_bytes())?;
    Ok(format!("{restored}{suffix}"))
}

/// Rebuilds the case of `body` from the checksum `suffix`; fails when the checksum marks a
/// digit as upper case, which no real id does.
fn restore_case(body: &[u8], suffix: &[u8]) -> Result<String, IdError> {
    let mut out = String::with_capacity(15);
    for (block, code) in body.chunks(5).zip(suffix) {
        let bits = CHECKSUM_ALPHABET
            .iter()
            .position(|c| c == code)
            .ok_or(IdError::Checksum)?;
        for (i, &b) in block.iter().enumerate() {
            let upper = bits & (1 << i) != 0;
            match (upper, b.is_ascii_alphabetic()) {
                (true, false) => return Err(IdError::Checksum),
                (true, true) => out.push(char::from(b.to_ascii_uppercase())),
                (false, _) => out.push(char::from(b.to_ascii_lowercase())),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_character_id_gains_its_checksum() {
        let id = SalesforceId::parse("001D000000IqhSL").unwrap();
        assert_eq!(id.as_str(), "001D000000IqhSLIAZ");
        assert_eq!(id.to_string(), "001D000000IqhSLIAZ");
        assert_eq!(id.to_15(), "001D000000IqhSL");
    }

    #[test]
    fn both_forms_parse_to_the_same_id() {
        for (short, long) in [
            ("001D000000IqhSL", "001D000000IqhSLIAZ"),
            ("003D000000QdVT1", "003D000000QdVT1IAN"),
            ("00Q8c00000FgoBP", "00Q8c00000FgoBPEAZ"),
            ("0018c00002Ay9zj", "0018c00002Ay9zjAAB"),
        ] {
            assert_eq!(
                SalesforceId::parse(short).unwrap().as_str(),
                long,
                "{short}"
            );
            assert_eq!(SalesforceId::parse(long).unwrap().as_str(), long, "{long}");
        }
    }

    #[test]
    fn eighteen_character_id_is_case_insensitive() {
        let canonical = "001D000000IqhSLIAZ";
        for variant in [
            "001d000000iqhsliaz",
            "001D000000IQHSLIAZ",
            "001D000000IqhSLiaz",
        ] {
            assert_eq!(
                SalesforceId::parse(variant).unwrap().as_str(),
                canonical,
                "{variant}"
            );
        }
    }

    #[test]
    fn mixed_case_id_with_wrong_checksum_is_rejected() {
        assert_eq!(
            SalesforceId::parse("001D000000IqhSLAAA"),
            Err(IdError::Checksum)
        );
    }

    #[test]
    fn checksum_marking_a_digit_upper_case_is_rejected() {
        // 'B' sets bit 1 of the first block, whose second character is the digit '0'.
        assert_eq!(
            SalesforceId::parse("001d000000iqhslBaz"),
            Err(IdError::Checksum)
        );
    }

    #[test]
    fn wrong_lengths_and_characters_are_rejected() {
        assert_eq!(
            SalesforceId::parse("001D000000IqhS"),
            Err(IdError::Length(14))
        );
        assert_eq!(SalesforceId::parse(""), Err(IdError::Length(0)));
        assert_eq!(
            SalesforceId::parse("001D000000IqhS-"),
            Err(IdError::Character)
        );
        assert_eq!(
            SalesforceId::parse("001D000000IqhSLIAZé"),
            Err(IdError::Character)
        );
    }

    #[test]
    fn key_prefix_names_the_object() {
        assert_eq!(
            SalesforceId::parse("001D000000IqhSL").unwrap().key_prefix(),
            "001"
        );
    }

    #[test]
    fn an_id_of_another_object_is_refused_by_its_key_prefix() {
        let account = "001D000000IqhSLIAZ";
        assert!(SalesforceId::parse_as(account, SObject::Account).is_ok());
        let err = SalesforceId::parse_as(account, SObject::Opportunity).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an Opportunity id starts with 006, not 001"
        );
        assert_eq!(
            SalesforceId::parse_as("x", SObject::Product2),
            Err(IdError::Length(1))
        );
        assert!(SalesforceId::parse(account).unwrap().is(SObject::Account));
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            IdError::Length(12).to_string(),
            "a Salesforce id has 15 or 18 characters, not 12"
        );
    }
}

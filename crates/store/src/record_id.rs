//! The ids Isthmus gives what it keeps (jobs, background runs, conflicts): 32 lower-case hex
//! characters, a v4 UUID without its dashes. A caller's id is parsed into a [`RecordId`] at the
//! edge, so only such ids ever name a key.

use std::fmt;

/// An id of a job, a background run or a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

/// Why a string is not a [`RecordId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id is 32 lower-case hex characters")]
pub struct RecordIdError;

impl RecordId {
    /// A new random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, RecordIdError> {
        if Self::is_valid(raw) {
            Ok(Self(raw.to_string()))
        } else {
            Err(RecordIdError)
        }
    }

    pub fn is_valid(raw: &str) -> bool {
        raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lower_case_hex_of_32_is_an_id() {
        let new = RecordId::new();
        assert_eq!(RecordId::parse(new.as_str()), Ok(new));
        for bad in [
            "",
            "ABCDEF0123456789abcdef0123456789",
            "../../etc",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcde",
        ] {
            assert_eq!(RecordId::parse(bad), Err(RecordIdError), "{bad}");
        }
    }
}

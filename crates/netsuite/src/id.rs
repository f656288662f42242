//! NetSuite internal ids: what every record API path and SuiteQL `id` takes. A caller's raw
//! value is parsed once at the edge into a [`NetSuiteId`], so a path or a query never sees
//! anything but digits.

use std::fmt;

/// Longest internal id taken (NetSuite's ids are far shorter; this bounds what a caller sends).
const MAX_DIGITS: usize = 20;

/// A NetSuite internal id: 1 to 20 ASCII digits, canonical (no leading zero: `000126` would
/// name customer 126 under another spelling, and a link keyed by it would lose the real one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetSuiteId(String);

/// Why a string is not a NetSuite internal id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a NetSuite internal id is 1 to {MAX_DIGITS} digits, without leading zeros")]
pub struct NetSuiteIdError;

impl NetSuiteId {
    pub fn parse(raw: &str) -> Result<Self, NetSuiteIdError> {
        if Self::is_valid(raw) {
            Ok(Self(raw.to_string()))
        } else {
            Err(NetSuiteIdError)
        }
    }

    /// Whether `raw` is an internal id (for filtering what a vendor answered).
    pub fn is_valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= MAX_DIGITS
            && raw.bytes().all(|b| b.is_ascii_digit())
            && !raw.starts_with('0')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NetSuiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for NetSuiteId {
    type Err = NetSuiteIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for NetSuiteId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for NetSuiteId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserializing checks the id as [`NetSuiteId::parse`] does.
impl<'de> serde::Deserialize<'de> for NetSuiteId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_are_an_internal_id() {
        assert_eq!(NetSuiteId::parse("42").unwrap().as_str(), "42");
        assert!(NetSuiteId::parse(&"9".repeat(20)).is_ok());
        for bad in [
            "",
            "4a",
            "-1",
            "1 ",
            "1' OR 1=1",
            &"9".repeat(21),
            "٤٢",
            "000126",
            "0",
        ] {
            assert_eq!(NetSuiteId::parse(bad), Err(NetSuiteIdError), "{bad}");
        }
    }

    #[test]
    fn a_job_payload_with_a_bad_id_does_not_deserialize() {
        let id: NetSuiteId = serde_json::from_str("\"17\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"17\"");
        assert!(serde_json::from_str::<NetSuiteId>("\"1; drop\"").is_err());
    }
}

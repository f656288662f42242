//! How record ids reach a URL path. Internal ids pass as they are (the URL builder percent-encodes
//! each path segment, so no id can add a segment or a query); external ids must match
//! `[A-Za-z0-9_-]+`, which the record API requires in `eid:` paths, and are checked before any
//! request is made. The id of a created record comes back only in the `Location` header.

use crate::error::NetSuiteError;

/// An internal id as is, or `eid:<externalId>` with the external id checked.
pub(crate) fn record_id(id: &str) -> Result<&str, NetSuiteError> {
    if let Some(external_id) = id.strip_prefix("eid:") {
        check_external_id(external_id)?;
    }
    Ok(id)
}

/// External ids the record API accepts in a path: `[A-Za-z0-9_-]+`.
pub(crate) fn check_external_id(external_id: &str) -> Result<(), NetSuiteError> {
    let valid = !external_id.is_empty()
        && external_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(NetSuiteError::InvalidExternalId(external_id.to_owned()))
    }
}

pub(crate) fn replace_query(replace: &str) -> Vec<(&str, &str)> {
    if replace.is_empty() {
        Vec::new()
    } else {
        vec![("replace", replace)]
    }
}

/// The internal id at the end of a `Location` such as `…/record/v1/customer/647`.
pub(crate) fn id_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let id = path.trim_end_matches('/').rsplit('/').next()?;
    (!id.is_empty() && !id.starts_with("eid:")).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_allow_only_letters_digits_underscore_and_dash() {
        assert!(check_external_id("SF-001D000000IqhSLIAZ_2").is_ok());
        for bad in ["", "a b", "a/b", "a?b", "é", "a.b", "eid:x"] {
            assert!(
                matches!(
                    check_external_id(bad),
                    Err(NetSuiteError::InvalidExternalId(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn eid_ids_are_checked_and_internal_ids_pass() {
        assert_eq!(record_id("647").unwrap(), "647");
        assert_eq!(record_id("eid:ACME-1").unwrap(), "eid:ACME-1");
        assert!(matches!(
            record_id("eid:../../customer"),
            Err(NetSuiteError::InvalidExternalId(_))
        ));
    }

    #[test]
    fn location_yields_the_internal_id() {
        let location =
            "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer/647";
        assert_eq!(id_from_location(location).as_deref(), Some("647"));
        assert_eq!(
            id_from_location("/record/v1/customer/648/").as_deref(),
            Some("648")
        );
        assert_eq!(id_from_location("/record/v1/customer/eid:X"), None);
        assert_eq!(id_from_location(""), None);
    }
}

//! Replacing a person's values inside stored entries (erasure), the same way on both backends:
//! plain byte substrings, no patterns, so a value with regex or glob characters means itself.

/// `entry` with every occurrence of each non-empty value replaced, or `None` when none occurs.
pub(crate) fn replace_all(entry: &[u8], values: &[String], replacement: &str) -> Option<Vec<u8>> {
    let mut current = entry.to_vec();
    let mut changed = false;
    for value in values.iter().filter(|v| !v.is_empty()) {
        let needle = value.as_bytes();
        let mut out = Vec::with_capacity(current.len());
        let mut rest = current.as_slice();
        let mut found = false;
        while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(replacement.as_bytes());
            rest = &rest[at + needle.len()..];
            found = true;
        }
        if found {
            out.extend_from_slice(rest);
            current = out;
            changed = true;
        }
    }
    changed.then_some(current)
}

#[cfg(test)]
mod tests {
    use super::replace_all;

    #[test]
    fn every_occurrence_of_every_value_is_replaced_and_nothing_else() {
        let values = vec!["Hank".to_owned(), String::new(), "h@x.io".to_owned()];
        let out = replace_all(b"Hank Scorpio <h@x.io> Hank", &values, "[erased]").unwrap();
        assert_eq!(out, b"[erased] Scorpio <[erased]> [erased]");
        assert_eq!(replace_all(b"Marge", &values, "[erased]"), None);
        assert_eq!(
            replace_all(b"a.b", &["*".to_owned(), ".".to_owned()], "-"),
            Some(b"a-b".to_vec())
        );
    }
}

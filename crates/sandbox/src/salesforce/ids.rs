//! Salesforce record ids: 15 case-sensitive characters (3-char key prefix, 2-char instance, one
//! reserved `0`, a 9-char base-62 counter) plus the 3-character case-safe checksum that makes the
//! 18-character form. Stored ids are always the canonical 18-character form.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const INSTANCE: &str = "Dn";

/// The 18-character id of the `counter`-th record with this key prefix.
pub fn generate(key_prefix: &str, counter: u64) -> String {
    let mut digits = [b'0'; 9];
    let mut n = counter;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let base = format!(
        "{key_prefix}{INSTANCE}0{}",
        String::from_utf8_lossy(&digits)
    );
    with_checksum(&base)
}

/// The counter [`generate`] encoded in an id (its 9 base-62 digits after the key prefix, the
/// instance and the reserved `0`), or `None` when those are not base-62 digits.
pub fn counter_of(id: &str) -> Option<u64> {
    id.get(6..15)?.bytes().try_fold(0u64, |counter, digit| {
        let value = BASE62.iter().position(|c| *c == digit)?;
        counter.checked_mul(62)?.checked_add(value as u64)
    })
}

/// Appends the case-safe suffix to a 15-character id.
pub fn with_checksum(base: &str) -> String {
    let bytes = base.as_bytes();
    let mut out = base.to_owned();
    for chunk in bytes.chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(CHECKSUM[bits] as char);
    }
    out
}

/// The canonical 18-character form of a 15- or 18-character id, or `None` when it is not an id.
/// An 18-character id is case-insensitive: its suffix restores the case of the first 15 characters.
pub fn normalize(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(with_checksum(id)),
        18 => {
            let (base, suffix) = id.split_at(15);
            let mut restored: Vec<u8> = base.bytes().map(|b| b.to_ascii_lowercase()).collect();
            for (chunk, flag) in restored.chunks_mut(5).zip(suffix.bytes()) {
                let bits = CHECKSUM
                    .iter()
                    .position(|c| *c == flag.to_ascii_uppercase())?;
                for (i, b) in chunk.iter_mut().enumerate() {
                    if bits & (1 << i) != 0 {
                        *b = b.to_ascii_uppercase();
                    }
                }
            }
            let restored = String::from_utf8(restored).ok()?;
            Some(with_checksum(&restored))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_salesforce_documented_example() {
        // A well-known pair: 15-char id and its 18-char form.
        assert_eq!(with_checksum("0015000000Gv7qJ"), "0015000000Gv7qJAAR");
    }

    #[test]
    fn generated_ids_are_18_chars_with_prefix_and_valid_checksum() {
        let id = generate("001", 1);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("001Dn0"));
        assert_eq!(with_checksum(&id[..15]), id);
        assert_ne!(generate("001", 61), generate("001", 62));
    }

    #[test]
    fn the_counter_of_a_generated_id_is_the_one_it_was_generated_from() {
        for counter in [1, 61, 62, 987_654, 62u64.pow(9) - 1] {
            assert_eq!(counter_of(&generate("a01", counter)), Some(counter));
        }
        assert_eq!(counter_of("001Dn0-00000001AAA"), None);
        assert_eq!(counter_of("001"), None);
    }

    #[test]
    fn eighteen_char_ids_are_case_insensitive_and_fifteen_char_ids_case_sensitive() {
        let id = generate("003", 987_654);
        assert_eq!(normalize(&id.to_lowercase()).as_deref(), Some(id.as_str()));
        assert_eq!(normalize(&id[..15]).as_deref(), Some(id.as_str()));
        assert_ne!(
            normalize(&id[..15].to_lowercase()).as_deref(),
            Some(id.as_str())
        );
        assert_eq!(normalize("not-an-id"), None);
        assert_eq!(normalize("001"), None);
    }
}

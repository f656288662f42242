//! PEM (RFC 7468) to DER: the label and bytes of the first block, with no other checks. The
//! caller decides what the label may be.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::JwtError;

/// The label (`PRIVATE KEY`, `RSA PRIVATE KEY`, …) and DER bytes of the first PEM block in `pem`.
/// Text around the block is ignored, and so is whitespace inside its body.
pub fn pem_to_der(pem: &str) -> Result<(String, Vec<u8>), JwtError> {
    const BEGIN: &str = "-----BEGIN ";
    let begin = pem.find(BEGIN).ok_or(JwtError::NoPemBlock)?;
    let rest = &pem[begin + BEGIN.len()..];
    let (label, rest) = rest
        .split_once("-----")
        .ok_or(JwtError::MalformedPemHeader)?;
    let (body, _) = rest
        .split_once(&format!("-----END {label}-----"))
        .ok_or(JwtError::UnclosedPemBlock)?;
    let base64: String = body.split_whitespace().collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| JwtError::PemNotBase64)?;
    Ok((label.to_owned(), der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_label_and_bytes_of_the_first_block() {
        let pem = "Bag Attributes: ignored\n\
                   -----BEGIN PRIVATE KEY-----\n  AQID\n BAU=\n-----END PRIVATE KEY-----\n\
                   -----BEGIN CERTIFICATE-----\nBgc=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_to_der(pem),
            Ok(("PRIVATE KEY".to_owned(), vec![1, 2, 3, 4, 5]))
        );
    }

    #[test]
    fn reads_the_fixture_keys() {
        let (label, der) = pem_to_der(include_str!("../tests/fixtures/test-rsa-2048.pem")).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(der[0], 0x30, "DER starts with a SEQUENCE");
        let (label, _) =
            pem_to_der(include_str!("../tests/fixtures/test-rsa-2048-pkcs1.pem")).unwrap();
        assert_eq!(label, "RSA PRIVATE KEY");
    }

    #[test]
    fn malformed_blocks_are_named_without_quoting_the_body() {
        for (pem, expected) in [
            ("MIIBsecret", JwtError::NoPemBlock),
            (
                "-----BEGIN PRIVATE KEY\nMIIBsecret",
                JwtError::MalformedPemHeader,
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nMIIBsecret\n-----END PUBLIC KEY-----",
                JwtError::UnclosedPemBlock,
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nMIIB*secret\n-----END PRIVATE KEY-----",
                JwtError::PemNotBase64,
            ),
        ] {
            let err = pem_to_der(pem).unwrap_err();
            assert_eq!(err, expected);
            assert!(!err.to_string().contains("MIIB"), "{err}");
        }
    }
}

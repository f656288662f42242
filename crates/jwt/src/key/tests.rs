use base64::engine::general_purpose::STANDARD;
use ring::signature::{KeyPair, UnparsedPublicKey, VerificationAlgorithm};

use super::*;

/// Throwaway test keys, made with `openssl genpkey` (PKCS#8) and `openssl rsa -traditional`
/// (the same RSA key as PKCS#1).
const RSA_PEM: &str = include_str!("../../tests/fixtures/test-rsa-2048.pem");
const RSA_PKCS1_PEM: &str = include_str!("../../tests/fixtures/test-rsa-2048-pkcs1.pem");
const EC_PEM: &str = include_str!("../../tests/fixtures/test-ec-p256.pem");

/// Splits a compact JWS into its decoded header, claims, signing input and signature.
fn decode(jwt: &str) -> (Value, Value, String, Vec<u8>) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let json = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    (
        json(parts[0]),
        json(parts[1]),
        format!("{}.{}", parts[0], parts[1]),
        URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
}

fn public_key_of(key: &SigningKey) -> Vec<u8> {
    match &key.key {
        Key::Rsa(pair, _) => pair.public().as_ref().to_vec(),
        Key::Ecdsa(pair) => pair.public_key().as_ref().to_vec(),
    }
}

/// Signs `{"iss":"client"}` with `key` and checks the header, the claims and the signature.
fn assert_signs_verifiable_tokens(key: &SigningKey, verify: &'static dyn VerificationAlgorithm) {
    let jwt = key.sign(&json!({ "iss": "client" })).unwrap();
    let (header, claims, input, signature) = decode(&jwt);
    assert_eq!(
        header,
        json!({ "alg": key.algorithm().as_str(), "typ": "JWT" })
    );
    assert_eq!(claims, json!({ "iss": "client" }));
    UnparsedPublicKey::new(verify, public_key_of(key))
        .verify(input.as_bytes(), &signature)
        .unwrap_or_else(|_| panic!("{:?} signature verifies", key.algorithm()));
}

#[test]
fn every_rsa_algorithm_signs_tokens_that_verify_with_the_public_key() {
    for (algorithm, verify) in [
        (
            Algorithm::RS256,
            &signature::RSA_PKCS1_2048_8192_SHA256 as &'static dyn VerificationAlgorithm,
        ),
        (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
        (Algorithm::PS384, &signature::RSA_PSS_2048_8192_SHA384),
        (Algorithm::PS512, &signature::RSA_PSS_2048_8192_SHA512),
    ] {
        let key = SigningKey::from_pem(RSA_PEM, algorithm).unwrap();
        assert_signs_verifiable_tokens(&key, verify);
    }
}

#[test]
fn pkcs1_rsa_keys_sign_like_their_pkcs8_form() {
    let pkcs1 = SigningKey::from_pem(RSA_PKCS1_PEM, Algorithm::RS256).unwrap();
    let pkcs8 = SigningKey::from_pem(RSA_PEM, Algorithm::RS256).unwrap();
    assert_eq!(public_key_of(&pkcs1), public_key_of(&pkcs8));
    // PKCS#1 v1.5 is deterministic: the same key signs the same claims identically.
    let claims = json!({ "sub": "user@example.com" });
    assert_eq!(pkcs1.sign(&claims), pkcs8.sign(&claims));
    assert_signs_verifiable_tokens(&pkcs1, &signature::RSA_PKCS1_2048_8192_SHA256);
}

#[test]
fn es256_tokens_carry_a_64_byte_r_s_signature_that_verifies() {
    let key = SigningKey::from_pem(EC_PEM, Algorithm::ES256).unwrap();
    assert_signs_verifiable_tokens(&key, &signature::ECDSA_P256_SHA256_FIXED);
    let (.., signature) = decode(&key.sign(&json!({})).unwrap());
    assert_eq!(signature.len(), 64, "JWS ECDSA signatures are r || s");
}

#[test]
fn es384_tokens_carry_a_96_byte_r_s_signature_that_verifies() {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &SystemRandom::new(),
    )
    .unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(pkcs8.as_ref())
    );
    let key = SigningKey::from_pem(&pem, Algorithm::ES384).unwrap();
    assert_signs_verifiable_tokens(&key, &signature::ECDSA_P384_SHA384_FIXED);
    let (.., signature) = decode(&key.sign(&json!({})).unwrap());
    assert_eq!(signature.len(), 96);
}

#[test]
fn a_key_id_is_sent_as_kid() {
    let key = SigningKey::from_pem(EC_PEM, Algorithm::ES256)
        .unwrap()
        .with_key_id("cert-ec");
    let (header, ..) = decode(&key.sign(&json!({})).unwrap());
    assert_eq!(
        header,
        json!({ "alg": "ES256", "typ": "JWT", "kid": "cert-ec" })
    );
}

#[test]
fn keys_that_do_not_fit_the_algorithm_are_refused_without_quoting_them() {
    let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n";
    for (pem, algorithm) in [
        (RSA_PEM, Algorithm::ES256),
        (EC_PEM, Algorithm::PS256),
        (EC_PEM, Algorithm::RS256),
        (EC_PEM, Algorithm::ES384),
        (public, Algorithm::RS256),
        (public, Algorithm::ES256),
        ("not a key", Algorithm::PS256),
    ] {
        let err = SigningKey::from_pem(pem, algorithm).unwrap_err();
        assert!(!err.to_string().contains("MII"), "{algorithm:?}: {err}");
    }
    let err = SigningKey::from_pem(public, Algorithm::RS256).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a PUBLIC KEY PEM is not an RSA private key"
    );
}

#[test]
fn sec1_ec_keys_are_refused_with_the_command_that_converts_them() {
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    let err = SigningKey::from_pem(sec1, Algorithm::ES256).unwrap_err();
    assert_eq!(err, JwtError::Sec1EcKey);
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
}

#[test]
fn debug_shows_the_algorithm_and_key_id_only() {
    let key = SigningKey::from_pem(RSA_PEM, Algorithm::PS256)
        .unwrap()
        .with_key_id("cert-1");
    assert_eq!(
        format!("{key:?}"),
        r#"SigningKey { algorithm: PS256, key_id: Some("cert-1"), .. }"#
    );
}

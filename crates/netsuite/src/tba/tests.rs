use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// OAuth Core 1.0 Appendix A.5 ("Accessing Protected Resources"), the source of the widely quoted
/// `tR3+Ty81lMeYAr/Fid0kMTYa/WM=` vector.
#[test]
fn oauth_core_appendix_a5_vector_signs_with_hmac_sha1() {
    let params = [
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1191242096"),
        ("oauth_nonce", "kllo9940pd9333jh"),
        ("oauth_version", "1.0"),
    ];
    let base = base_string(
        "GET",
        &url("http://photos.example.net/photos?file=vacation.jpg&size=original"),
        &params,
    );
    assert_eq!(
        base,
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D\
         dpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26\
         oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
    );
    assert_eq!(
        signature(
            SignatureMethod::HmacSha1,
            &base,
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00"
        ),
        "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    );
}

/// RFC 5849 §1.2, the final protected-resource request (no `oauth_version`).
#[test]
fn rfc5849_section_1_2_vector_signs_with_hmac_sha1() {
    let params = [
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131202"),
        ("oauth_nonce", "chapoH"),
    ];
    let base = base_string(
        "GET",
        &url("http://photos.example.net/photos?file=vacation.jpg&size=original"),
        &params,
    );
    assert_eq!(
        base,
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D\
         dpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26\
         oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
    );
    assert_eq!(
        signature(
            SignatureMethod::HmacSha1,
            &base,
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00"
        ),
        "MdpQcU8iPSUjWoN/UDMsK2sui9I="
    );
}

/// RFC 5849 §3.4.1.1/§3.4.1.3: encoded and repeated query parameters are decoded, re-encoded and
/// sorted by name then value; the default port is dropped, a non-default port kept.
#[test]
fn rfc5849_section_3_4_1_parameter_normalization() {
    let base = base_string(
        "post",
        &url("HTTP://Example.com:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b&c2=&a3=2+q"),
        &[
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
        ],
    );
    assert_eq!(
        base,
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D\
         %253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D\
         7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token\
         %3Dkkk9d7dh3k39sjv7"
    );
    let with_port = base_string("GET", &url("https://example.com:8443/r"), &[]);
    assert_eq!(with_port, "GET&https%3A%2F%2Fexample.com%3A8443%2Fr&");
}

/// Produced once by oauthlib 3 (`tests/fixtures/tba_hmac_sha256.py`), an independent implementation.
#[test]
fn hmac_sha256_matches_oauthlib_fixture() {
    let credentials = Credentials {
        consumer_key: "ck-4f3e2d1c 0b",
        consumer_secret: "cs&secret/=+",
        token: "tk-9a8b7c",
        token_secret: "ts~secret%",
    };
    let request = url(
        "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/\
         customer/eid:ACME-1?expandSubResources=true&fields=companyName%2Cemail",
    );
    let params = [
        ("oauth_consumer_key", credentials.consumer_key),
        ("oauth_token", credentials.token),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", "1767225600"),
        ("oauth_nonce", "Xk3p9QzL0aBcDeFgHiJk"),
        ("oauth_version", "1.0"),
    ];
    assert_eq!(
        base_string("GET", &request, &params),
        "GET&https%3A%2F%2F123456-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2F\
         customer%2Feid%3AACME-1&expandSubResources%3Dtrue%26fields%3DcompanyName%252Cemail%26\
         oauth_consumer_key%3Dck-4f3e2d1c%25200b%26oauth_nonce%3DXk3p9QzL0aBcDeFgHiJk%26\
         oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1767225600%26oauth_token%3D\
         tk-9a8b7c%26oauth_version%3D1.0"
    );
    let header = authorize(
        "GET",
        &request,
        "123456_SB1",
        credentials,
        "Xk3p9QzL0aBcDeFgHiJk",
        "1767225600",
    );
    assert_eq!(
        header,
        "OAuth realm=\"123456_SB1\", oauth_consumer_key=\"ck-4f3e2d1c%200b\", \
         oauth_token=\"tk-9a8b7c\", oauth_signature_method=\"HMAC-SHA256\", \
         oauth_timestamp=\"1767225600\", oauth_nonce=\"Xk3p9QzL0aBcDeFgHiJk\", \
         oauth_version=\"1.0\", oauth_signature=\"BCgCkC3HcbEneo1iHVWYPk4fD47uKidIcYhzZfDhp6U%3D\""
    );
}

#[test]
fn percent_encoding_keeps_only_unreserved_characters() {
    assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
    assert_eq!(percent_encode("a b+c/d=e&f%"), "a%20b%2Bc%2Fd%3De%26f%25");
    assert_eq!(percent_encode("é"), "%C3%A9");
}

#[test]
fn nonces_are_fresh_alphanumerics() {
    let (a, b) = (nonce(), nonce());
    assert_eq!(a.len(), 20);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
}

#[test]
fn timestamp_is_unix_seconds() {
    let now: u64 = timestamp().parse().unwrap();
    assert!(now > 1_700_000_000);
}

//! Properties of the config loader: any valid value of a key round-trips through the
//! environment (`ISTHMUS_<SECTION>__<KEY>`) and through a file; any invalid one is an error
//! naming the key, never a panic.

use std::io::Write as _;

use isthmus_engine::Config;
use proptest::prelude::*;

fn from_env(key: &str, value: &str) -> Result<Config, String> {
    Config::load_from(None, vec![(key.to_string(), value.to_string())]).map_err(|e| e.to_string())
}

fn from_file(toml: &str) -> Result<Config, String> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    Config::load_from(Some(file.path()), Vec::new()).map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_body_limit_round_trips_through_env_and_file(bytes in 1u64..=u32::MAX as u64) {
        let env = from_env("ISTHMUS_GATEWAY__MAX_BODY_BYTES", &bytes.to_string()).unwrap();
        prop_assert_eq!(env.gateway.max_body_bytes as u64, bytes);
        let file = from_file(&format!("[gateway]\nmax_body_bytes = {bytes}\n")).unwrap();
        prop_assert_eq!(file.gateway.max_body_bytes as u64, bytes);
    }

    #[test]
    fn any_signing_window_round_trips_through_env(seconds in 1u64..=86_400) {
        let env = from_env("ISTHMUS_GATEWAY__NETSUITE_HMAC_WINDOW_S", &seconds.to_string()).unwrap();
        prop_assert_eq!(env.gateway.netsuite_hmac_window_s, seconds);
    }

    #[test]
    fn any_text_for_a_number_is_a_value_or_an_error_never_a_panic(raw in "\\PC{0,24}") {
        let answer = from_env("ISTHMUS_GATEWAY__MAX_BODY_BYTES", &raw);
        if let Err(message) = answer {
            prop_assert!(message.to_lowercase().contains("max_body_bytes"), "{}", message);
        }
    }

    #[test]
    fn any_file_text_is_a_config_or_an_error_never_a_panic(raw in "\\PC{0,200}") {
        let _ = from_file(&raw);
    }

    #[test]
    fn a_negative_or_fractional_number_is_refused(n in 1u32.., frac in 1u8..) {
        let (negative, fraction) = (format!("-{n}"), format!("{n}.{frac}"));
        prop_assert!(from_env("ISTHMUS_GATEWAY__MAX_BODY_BYTES", &negative).is_err());
        prop_assert!(from_env("ISTHMUS_GATEWAY__MAX_BODY_BYTES", &fraction).is_err());
    }
}

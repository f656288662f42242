//! Integers with a documented range, checked where they are parsed: [`Bounded<MIN, MAX>`] is the
//! one rule for every integer a route takes (query parameters and JSON body fields alike).
//!
//! Guarantees: a value outside `MIN..=MAX`, a negative number, a fraction or a non-number fails
//! deserialization with a message naming the range, which the shared extractors
//! (`routes::query_or_error`, `routes::ApiJson`) answer as 400 `INVALID_ARGUMENT` before any
//! service is called, so nothing is written. The OpenAPI schema of the type declares the same
//! `minimum`/`maximum` (fields use it with `#[schema(inline)]` / `#[param(inline)]`), so the
//! document and the check cannot disagree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

/// `limit` of the audit log: 1 to 1000 entries per page.
pub type AuditLimit = Bounded<1, 1000>;
/// `limit` of conflict and dead-letter lists: 1 to 500 per page.
pub type PageLimit = Bounded<1, 500>;
/// `offset` of a paged list: 0 to 100,000.
pub type PageOffset = Bounded<0, 100_000>;
/// A time in ms since the epoch, up to the end of the year 9999.
pub type EpochMs = Bounded<0, 253_402_300_799_999>;
/// `limit` of a catalog run or an account backfill: 1 to 1,000,000 records.
pub type RunLimit = Bounded<1, 1_000_000>;
/// `max_items` of a reconciliation: 1 to 10,000 drifts listed.
pub type MaxDriftItems = Bounded<1, 10_000>;
/// `within_days` of a renewal scan: 1 to 3660 days.
pub type RenewalDays = Bounded<1, 3660>;

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// `value` when it is in range.
    pub fn new(value: u64) -> Option<Self> {
        (MIN..=MAX).contains(&value).then_some(Self(value))
    }

    /// `value` brought into range (for values the gateway makes itself, e.g. the console's
    /// page size; input from outside goes through deserialization or [`str::parse`]).
    pub fn saturating(value: u64) -> Self {
        Self(value.clamp(MIN, MAX))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The value as a `u32`; ranges used with it end at or below `u32::MAX`.
    pub fn get_u32(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }

    /// The value as an `i64`; ranges used with it end at or below `i64::MAX`.
    pub fn get_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    fn out_of_range(shown: impl fmt::Display) -> String {
        format!("{shown} is out of range: must be an integer from {MIN} to {MAX}")
    }
}

impl<const MIN: u64, const MAX: u64> std::str::FromStr for Bounded<MIN, MAX> {
    type Err = String;

    /// Decimal digits only, in range; the error names the range.
    fn from_str(raw: &str) -> Result<Self, String> {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let text: StrDeserializer<'_, Error> = raw.into_deserializer();
        Self::deserialize(text).map_err(|e| e.to_string())
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BoundedVisitor::<MIN, MAX>)
    }
}

struct BoundedVisitor<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> BoundedVisitor<MIN, MAX> {
    fn checked<E: de::Error>(value: u64) -> Result<Bounded<MIN, MAX>, E> {
        Bounded::new(value).ok_or_else(|| E::custom(Bounded::<MIN, MAX>::out_of_range(value)))
    }
}

impl<const MIN: u64, const MAX: u64> Visitor<'_> for BoundedVisitor<MIN, MAX> {
    type Value = Bounded<MIN, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an integer from {MIN} to {MAX}")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Self::checked(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(Bounded::<MIN, MAX>::out_of_range(value)))
            .and_then(Self::checked)
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Self::Value, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(Bounded::<MIN, MAX>::out_of_range(value)))
            .and_then(Self::checked)
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Self::Value, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(Bounded::<MIN, MAX>::out_of_range(value)))
            .and_then(Self::checked)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Err(E::custom(Bounded::<MIN, MAX>::out_of_range(value)))
    }

    /// Query strings carry text: digits only (no sign, no spaces, no fraction).
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(Bounded::<MIN, MAX>::out_of_range(format!(
                "'{}'",
                isthmus_proto::shown(value)
            ))));
        }
        match value.parse::<u64>() {
            Ok(parsed) => Self::checked(parsed),
            Err(_) => Err(E::custom(Bounded::<MIN, MAX>::out_of_range(value))),
        }
    }
}

impl<const MIN: u64, const MAX: u64> utoipa::PartialSchema for Bounded<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(MIN as f64))
            .maximum(Some(MAX as f64))
            .into()
    }
}

impl<const MIN: u64, const MAX: u64> utoipa::ToSchema for Bounded<MIN, MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Bounded{MIN}To{MAX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Limit = Bounded<1, 500>;

    #[derive(Debug, Deserialize)]
    struct Body {
        limit: Option<Limit>,
    }

    fn body(json: &str) -> Result<Option<u64>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.limit.map(Limit::get))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn values_inside_the_range_pass_at_both_ends() {
        assert_eq!(body(r#"{"limit":1}"#), Ok(Some(1)));
        assert_eq!(body(r#"{"limit":500}"#), Ok(Some(500)));
        assert_eq!(body(r#"{"limit":null}"#), Ok(None));
        assert_eq!(body(r#"{}"#), Ok(None));
    }

    #[test]
    fn values_outside_the_range_are_refused_naming_it() {
        for json in [
            r#"{"limit":0}"#,
            r#"{"limit":501}"#,
            r#"{"limit":-1}"#,
            r#"{"limit":1.5}"#,
            r#"{"limit":18446744073709551616}"#,
        ] {
            let err = body(json).unwrap_err();
            assert!(err.contains("from 1 to 500"), "{json}: {err}");
        }
        // Text is read as a query string's is: digits only (a JSON string of digits is its number).
        assert_eq!(body(r#"{"limit":"5"}"#), Ok(Some(5)));
        assert!(body(r#"{"limit":"5x"}"#)
            .unwrap_err()
            .contains("from 1 to 500"));
        assert!(body(r#"{"limit":true}"#).is_err());
    }

    #[test]
    fn query_text_must_be_plain_digits() {
        let parse = |raw: &str| {
            serde_json::from_value::<Limit>(serde_json::Value::String(raw.into()))
                .map(Limit::get)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse("7"), Ok(7));
        for raw in [
            "",
            "+7",
            "-7",
            " 7",
            "7.0",
            "0x7",
            "501",
            "99999999999999999999999",
        ] {
            assert!(parse(raw).unwrap_err().contains("from 1 to 500"), "{raw:?}");
        }
    }

    #[test]
    fn the_schema_declares_the_range() {
        let schema = serde_json::to_value(<Limit as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "integer");
        assert_eq!(schema["minimum"], 1.0);
        assert_eq!(schema["maximum"], 500.0);
    }
}

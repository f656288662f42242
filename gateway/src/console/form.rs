//! A posted console form (`application/x-www-form-urlencoded`), read as name–value pairs so a
//! name may repeat (the ids of the selected dead letters). Malformed bodies are a 400.

use axum::body::Bytes;
use isthmus_proto::ErrorCode;

use crate::ApiError;

/// The most fields a form may carry (a page lists at most a few hundred rows).
const MAX_FIELDS: usize = 1_000;

#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &Bytes) -> Result<Self, ApiError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidArgument, "the form is not UTF-8"))?;
        let mut fields = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            fields.push((decode(name)?, decode(value)?));
            if fields.len() > MAX_FIELDS {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("a form carries at most {MAX_FIELDS} fields"),
                ));
            }
        }
        Ok(Self(fields))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The non-empty value of `name`, or a 400 naming it.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidArgument,
                format!("the form needs `{name}`"),
            )
        })
    }
}

fn decode(raw: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::new(ErrorCode::InvalidArgument, "the form is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_and_encodings_are_read() {
        let form = Form::parse(&Bytes::from_static(
            b"id=a&id=b&reason=no+longer+needed%21&x",
        ))
        .unwrap();
        assert_eq!(form.all("id"), ["a", "b"]);
        assert_eq!(form.get("reason"), Some("no longer needed!"));
        assert_eq!(form.get("x"), Some(""));
        assert!(form.required("x").is_err());
        assert!(Form::parse(&Bytes::from_static(b"a=%FF")).is_err());
    }
}

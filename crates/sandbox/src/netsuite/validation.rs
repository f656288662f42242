//! `X-NetSuite-PropertyNameValidation`: what a record write does with a body field the record
//! type does not have (a misspelt or missing custom field). NetSuite's REST web services take
//! `Error`, `Warning` or `Ignore` on create, update, upsert and transform, and default to
//! **`Warning`**: the unknown field is dropped and the write succeeds, so a client that does not
//! ask for `Error` loses the value silently unless it reads the warning.
//!
//! - `Error`: 400 `NONEXISTENT_FIELD` naming the field; nothing is written.
//! - `Warning`: the field is dropped; the 204 answer carries one [`WARNING_HEADER`] per dropped
//!   field. The header's name and wording are *unconfirmed* (Oracle's documentation names the
//!   three values and the default, not the warning's wire shape): a client should send `Error`
//!   rather than parse warnings.
//! - `Ignore`: the field is dropped without a word.
//!
//! An unrecognised header value is refused as `INVALID_PARAMETER` (*unconfirmed*). Only body
//! fields are checked here; a sublist line's unknown field is refused whatever the header says.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::error::ApiError;

/// The request header choosing the behaviour.
pub const NAME_VALIDATION_HEADER: &str = "x-netsuite-propertynamevalidation";
/// The response header carrying a dropped field's warning (*unconfirmed* name).
pub const WARNING_HEADER: &str = "x-netsuite-warning";

/// How a write treats a field the record type does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Refuse the write.
    Error,
    /// Drop the field and say so in the answer (NetSuite's default).
    #[default]
    Warning,
    /// Drop the field silently.
    Ignore,
}

impl NameValidation {
    /// The behaviour a request asks for (the default when it names none).
    pub fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(value) = headers.get(NAME_VALIDATION_HEADER) else {
            return Ok(Self::default());
        };
        match value.to_str().map(str::trim) {
            Ok(v) if v.eq_ignore_ascii_case("error") => Ok(Self::Error),
            Ok(v) if v.eq_ignore_ascii_case("warning") => Ok(Self::Warning),
            Ok(v) if v.eq_ignore_ascii_case("ignore") => Ok(Self::Ignore),
            _ => Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                "Invalid value for the header X-NetSuite-PropertyNameValidation. Use Error, Warning or Ignore.",
            )),
        }
    }
}

/// Adds one warning header per dropped field (when the request asked for warnings).
pub fn with_warnings(
    mut response: Response,
    validation: NameValidation,
    dropped: &[String],
) -> Response {
    if validation != NameValidation::Warning {
        return response;
    }
    for name in dropped {
        let text = format!("The field {name} does not exist on this record type and was ignored.");
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(WARNING_HEADER, value);
        }
    }
    response
}

//! The errors SOQL resolution reports, worded as Salesforce words them.

use crate::salesforce::error::ApiError;
use crate::salesforce::schema::{Field, Kind, SObject};

pub fn type_mismatch(field: &Field) -> ApiError {
    let expected = match field.kind {
        Kind::Bool => "must be of type boolean and should not be enclosed in quotes",
        Kind::DateTime => "must be of type dateTime and should not be enclosed in quotes",
        Kind::Date => "must be of type date and should not be enclosed in quotes",
        Kind::Number(_) => "must be of type double and should not be enclosed in quotes",
        _ => "must be of type string and should be enclosed in quotes",
    };
    ApiError::bad_request(
        "INVALID_QUERY_FILTER_OPERATOR",
        format!(
            "value of filter criterion for field '{}' {expected}",
            field.name
        ),
    )
}

pub fn malformed(message: &str) -> ApiError {
    ApiError::bad_request("MALFORMED_QUERY", message)
}

pub fn no_such_column(name: &str, object: &SObject) -> ApiError {
    ApiError::bad_request(
        "INVALID_FIELD",
        format!(
            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
            object.name
        ),
    )
}

pub fn unknown_relationship(name: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_FIELD",
        format!(
            "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

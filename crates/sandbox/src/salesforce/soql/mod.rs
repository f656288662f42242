//! SOQL: [`lexer`] → [`parser`] (an [`ast`]) → [`translate`] (a plan of parameterised SQLite SQL
//! plus how each column shapes the output record). No SOQL text ever reaches SQLite.

pub mod ast;
mod dates;
mod errors;
pub mod lexer;
pub mod parser;
pub mod translate;

use super::error::ApiError;
pub use translate::{Column, Plan, Scope, Shape};

/// Parses and resolves a SOQL query; syntax errors are `MALFORMED_QUERY`, schema errors
/// `INVALID_TYPE` / `INVALID_FIELD`.
pub fn compile(soql: &str, scope: Scope) -> Result<Plan, ApiError> {
    let malformed = |message: String| ApiError::bad_request("MALFORMED_QUERY", message);
    let tokens = lexer::tokenize(soql).map_err(malformed)?;
    let query = parser::parse(tokens).map_err(malformed)?;
    translate::translate(&query, scope)
}

//! Mappings: the effective field mappings, value maps and field owners per flow, read-only, as
//! the configuration resolved them (defaults, file and environment), so an admin sees what maps
//! to what without reading TOML.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::session::Session;
use super::{html_page, view};
use crate::Gateway;

/// One table of the page: a flow's field mapping, a value map, the owners.
#[derive(Debug, Clone, Default)]
pub struct MappingTable {
    pub flow: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub async fn page(State(gateway): State<Gateway>, session: Session) -> Response {
    let tables = gateway
        .console
        .as_ref()
        .map(|c| c.mappings.clone())
        .unwrap_or_default();
    let body = html! {
        h1 { "Mappings" }
        p.mute { "What the running configuration maps; change it in the config file or ISTHMUS_ environment variables." }
        @for t in &tables {
            h2 { (t.title) " " span.mute { "(" (t.flow) ")" } }
            table.mapping {
                thead { tr { @for c in &t.columns { th { (c) } } } }
                tbody {
                    @if t.rows.is_empty() { tr { td colspan=(t.columns.len()) .mute { "none configured" } } }
                    @for row in &t.rows { tr { @for cell in row { td { code { (cell) } } } } }
                }
            }
        }
    };
    html_page(view::page("Mappings", "Mappings", &session, body))
}

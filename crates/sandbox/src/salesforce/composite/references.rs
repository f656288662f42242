//! Composite references: `@{refId.field}`, `@{refId.records[0].Id}`, `@{refId[0].id}` name a value
//! in the body of an earlier subrequest's response. In a URL the value is spliced in as text; in a
//! body, a string that is exactly one reference becomes the referenced JSON value, and a string
//! that contains references gets their text.

use std::collections::HashMap;

use serde_json::Value;

/// The bodies of the subrequests run so far, by reference id (`None` when it failed).
pub type Results = HashMap<String, Option<Value>>;

/// A reference that names nothing, as `(expression, referenceId)`.
#[derive(Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub expression: String,
    pub reference_id: String,
}

/// `url` with every reference replaced by its text.
pub fn resolve_text(text: &str, results: &Results) -> Result<String, Unresolved> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let expression = &rest[start + 2..start + len];
        out.push_str(&as_text(&lookup(expression, results)?));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `body` with every reference in its strings resolved.
pub fn resolve_value(body: &Value, results: &Results) -> Result<Value, Unresolved> {
    Ok(match body {
        Value::String(s) => match whole_reference(s) {
            Some(expression) => lookup(expression, results)?,
            None => Value::String(resolve_text(s, results)?),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_value(v, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_value(v, results)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn whole_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("@{")?.strip_suffix('}')?;
    (!inner.contains('}')).then_some(inner)
}

fn reference_id(expression: &str) -> &str {
    let end = expression
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expression.len());
    &expression[..end]
}

/// Follows `.name` and `[n]` steps from the referenced body.
fn lookup(expression: &str, results: &Results) -> Result<Value, Unresolved> {
    let id = reference_id(expression);
    let unresolved = || Unresolved {
        expression: expression.to_owned(),
        reference_id: id.to_owned(),
    };
    let mut current = results
        .get(id)
        .and_then(Option::as_ref)
        .ok_or_else(unresolved)?;
    let mut path = &expression[id.len()..];
    while !path.is_empty() {
        if let Some(rest) = path.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            current = current.get(&rest[..end]).ok_or_else(unresolved)?;
            path = &rest[end..];
        } else if let Some(rest) = path.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(unresolved)?;
            let index: usize = rest[..end].parse().map_err(|_| unresolved())?;
            current = current.get(index).ok_or_else(unresolved)?;
            path = &rest[end + 1..];
        } else {
            return Err(unresolved());
        }
    }
    if current.is_null() {
        return Err(unresolved());
    }
    Ok(current.clone())
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn results() -> Results {
        let mut results = Results::new();
        results.insert(
            "refAccount".into(),
            Some(json!({"id": "001A", "success": true})),
        );
        results.insert(
            "list".into(),
            Some(json!({"records": [{"Id": "003B", "Amount": 12.5}]})),
        );
        results.insert("saved".into(), Some(json!([{"id": "001C"}])));
        results.insert("failed".into(), None);
        results
    }

    #[test]
    fn references_resolve_into_fields_arrays_and_nested_records() {
        let r = results();
        assert_eq!(
            resolve_text("/sobjects/Account/@{refAccount.id}", &r).unwrap(),
            "/sobjects/Account/001A"
        );
        assert_eq!(resolve_text("@{list.records[0].Id}", &r).unwrap(), "003B");
        assert_eq!(resolve_text("@{saved[0].id}", &r).unwrap(), "001C");
        let body = json!({"AccountId": "@{refAccount.id}", "Amount": "@{list.records[0].Amount}", "Note": "for @{refAccount.id}"});
        assert_eq!(
            resolve_value(&body, &r).unwrap(),
            json!({"AccountId": "001A", "Amount": 12.5, "Note": "for 001A"})
        );
    }

    #[test]
    fn references_to_failed_or_unknown_subrequests_do_not_resolve() {
        let r = results();
        for text in ["@{failed.id}", "@{nobody.id}", "@{refAccount.missing}"] {
            assert!(resolve_text(text, &r).is_err(), "{text}");
        }
    }
}

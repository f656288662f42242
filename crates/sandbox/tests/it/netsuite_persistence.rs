//! `SandboxConfig::persist_path`: the NetSuite account lives in a SQLite file across restarts,
//! seeded only when the file is new.

use isthmus_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

fn persisted(path: &std::path::Path) -> Sandbox {
    Sandbox::new(SandboxConfig {
        seed: true,
        persist_path: Some(path.to_owned()),
        ..SandboxConfig::default()
    })
    .unwrap()
}

#[test]
fn a_persisted_account_keeps_its_records_and_is_seeded_only_once() {
    let path = std::env::temp_dir().join(format!(
        "isthmus-sandbox-persist-{}-{}.sqlite",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    let seeded_customers = isthmus_sandbox::seed::CUSTOMER_COUNT;
    let first = persisted(&path);
    assert_eq!(first.ns_records("customer").len(), seeded_customers);
    let id = first
        .ns_insert(
            "customer",
            json!({ "companyName": "Persisted Ltd" })
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
    drop(first);

    let second = persisted(&path);
    let customers = second.ns_records("customer");
    assert_eq!(customers.len(), seeded_customers + 1);
    assert!(customers
        .iter()
        .any(|c| c["companyName"] == "Persisted Ltd"));
    // The Salesforce org is in memory and seeded on every start.
    assert!(!second.sf_records("Account").is_empty());
    // Ids continue after the highest in use.
    let next = second
        .ns_insert(
            "customer",
            json!({ "companyName": "Next Ltd" })
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
    assert!(next.parse::<i64>().unwrap() > id.parse::<i64>().unwrap());
    drop(second);
    std::fs::remove_file(&path).unwrap();
}

//! `SandboxConfig::persist_path`: the NetSuite account lives in a SQLite file across restarts,
//! seeded only when the file is new.

use isthmus_sandbox::Sandbox;
use serde_json::json;

use crate::harness::PersistPath;

#[test]
fn a_persisted_account_keeps_its_records_and_is_seeded_only_once() {
    let path = PersistPath::new("ns-persist");
    let seeded_customers = isthmus_sandbox::seed::CUSTOMER_COUNT;
    let first = Sandbox::new(path.config(true)).unwrap();
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

    let second = Sandbox::new(path.config(true)).unwrap();
    let customers = second.ns_records("customer");
    assert_eq!(customers.len(), seeded_customers + 1);
    assert!(customers
        .iter()
        .any(|c| c["companyName"] == "Persisted Ltd"));
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
}

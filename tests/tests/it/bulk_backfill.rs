//! Backfills above `salesforce.bulk_threshold` go through Bulk API 2.0 jobs: the same records end
//! up on both far sides as through REST pages and Collections, for a handful of Salesforce calls.

use std::time::Duration;

use isthmus_tests::faults::assert_each_account_synced_once;
use isthmus_tests::{StoreKind, TestMesh, ADMIN_KEY};
use serde_json::{json, Map, Value};

const ACCOUNTS: usize = 300;
/// Below the fixture's size (and the seeded unlinked accounts): the bulk path.
const BULK_THRESHOLD: u64 = 100;

/// `ACCOUNTS` unlinked accounts, every third with two contacts; their ids.
fn add_fixture(mesh: &TestMesh) -> Vec<String> {
    (0..ACCOUNTS)
        .map(|i| {
            let mut account = Map::new();
            account.insert("Name".into(), json!(format!("Bulk Fixture {i:04}")));
            account.insert("BillingCity".into(), json!("Porto"));
            account.insert("BillingCountry".into(), json!("Portugal"));
            account.insert("Phone".into(), json!(format!("+351 22 000 {i:04}")));
            let id = mesh.sandbox.sf_insert("Account", account).unwrap();
            if i % 3 == 0 {
                for (first, last) in [("Ana", "Silva"), ("Rui", "Costa, \"Jr\"")] {
                    let mut contact = Map::new();
                    contact.insert("AccountId".into(), json!(id));
                    contact.insert("FirstName".into(), json!(first));
                    contact.insert("LastName".into(), json!(last));
                    contact.insert("Email".into(), json!(format!("{first}.{i}@bulk.example")));
                    mesh.sandbox.sf_insert("Contact", contact).unwrap();
                }
            }
            id
        })
        .collect()
}

pub(crate) async fn run_backfill(mesh: &TestMesh) -> Value {
    let (status, job) = mesh
        .post("/v1/backfills/accounts", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    for _ in 0..1200 {
        let (status, job) = mesh
            .get(&format!("/v1/backfills/{id}"), Some(ADMIN_KEY))
            .await;
        assert_eq!(status, 200, "{job}");
        if job["state"] != "running" {
            assert_eq!(job["state"], "done", "{job}");
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("backfill {id} did not finish");
}

/// A record without the fields that differ between two runs of one fixture (ids, times, at
/// any depth: an address book line has an internal id of its own).
fn stable(record: &Map<String, Value>) -> Value {
    Value::Object(
        record
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !(k.ends_with("id") || k.contains("date") || k == "links" || k == "company")
            })
            .map(|(k, v)| {
                let v = match v {
                    Value::Object(inner) => stable(inner),
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|i| i.as_object().map_or_else(|| i.clone(), stable))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// What the backfill left on both far sides for `accounts`, keyed by account name: the customer
/// (after checking it is the one the account names and that names the account), and the
/// customer's contacts.
fn far_side(mesh: &TestMesh, accounts: &[String]) -> Vec<Value> {
    let customers = mesh.sandbox.ns_records("customer");
    let contacts = mesh.sandbox.ns_records("contact");
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut side: Vec<Value> = accounts
        .iter()
        .map(|account| {
            let record = mesh.sandbox.sf_record("Account", account).unwrap();
            let linked = text(record.get("NetSuite_Id__c")).expect("the id is written back");
            let customer = customers
                .iter()
                .find(|c| text(c.get("id")).as_deref() == Some(linked.as_str()))
                .expect("the written-back id names a customer");
            assert_eq!(
                text(customer.get("externalId")).as_deref(),
                Some(account.as_str())
            );
            let mut people: Vec<Value> = contacts
                .iter()
                .filter(|c| {
                    text(c.get("company").and_then(|c| c.get("id"))).as_deref()
                        == Some(linked.as_str())
                })
                .map(stable)
                .collect();
            people.sort_by_key(Value::to_string);
            json!({ "name": record["Name"], "customer": stable(customer), "contacts": people })
        })
        .collect();
    side.sort_by_key(|v| v["name"].to_string());
    side
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_backfill_writes_what_the_rest_backfill_writes_for_a_few_jobs_of_calls() {
    let mut sides = Vec::new();
    for threshold in [u64::MAX, BULK_THRESHOLD] {
        let mesh = TestMesh::start_with(StoreKind::Redis, |config| {
            config.salesforce.bulk_threshold = threshold;
        })
        .await;
        let accounts = add_fixture(&mesh);
        mesh.sandbox.reset_calls();
        let done = run_backfill(&mesh).await;
        assert_each_account_synced_once(&mesh.sandbox, &accounts);
        let calls = mesh.sandbox.calls();
        let written = done["written_back"].as_u64().unwrap();
        if threshold == u64::MAX {
            // REST: query pages and Collections of 200, no job.
            assert_eq!(
                calls.get("POST /services/data/vXX.X/jobs/query"),
                0,
                "{calls:?}"
            );
            assert_eq!(
                calls.get("PATCH /services/data/vXX.X/composite/sobjects"),
                written.div_ceil(200),
                "{calls:?}"
            );
        } else {
            // Bulk: the COUNT() over REST, two query jobs (accounts, contacts) of one results
            // page each, one ingest job (up to 10,000 ids) whose rows all saved, no Collections.
            let job = |method: &str, path: &str| {
                calls.get(&format!("{method} /services/data/vXX.X/jobs/{path}"))
            };
            assert_eq!(job("POST", "query"), 2, "{calls:?}");
            assert_eq!(job("GET", "query/{jobId}/results"), 2, "{calls:?}");
            assert_eq!(job("POST", "ingest"), 1, "{calls:?}");
            assert_eq!(job("PUT", "ingest/{jobId}/batches"), 1, "{calls:?}");
            assert_eq!(job("PATCH", "ingest/{jobId}"), 1, "{calls:?}");
            assert_eq!(job("GET", "ingest/{jobId}/failedResults"), 0, "{calls:?}");
            assert_eq!(
                job("GET", "ingest/{jobId}/unprocessedrecords"),
                0,
                "{calls:?}"
            );
            assert_eq!(calls.get("GET /services/data/vXX.X/query"), 1, "{calls:?}");
            assert_eq!(
                calls.get("PATCH /services/data/vXX.X/composite/sobjects"),
                0,
                "{calls:?}"
            );
            let polls = job("GET", "query/{jobId}") + job("GET", "ingest/{jobId}");
            assert!(
                (3..=12).contains(&polls),
                "polls wait longer each time: {calls:?}"
            );
            assert!(
                calls.salesforce_total() <= 1 + 1 + 2 * 2 + 3 + polls + 1,
                "{calls:?}"
            );
        }
        sides.push((done, far_side(&mesh, &accounts)));
        mesh.shutdown().await;
    }
    let (rest, bulk) = (&sides[0], &sides[1]);
    for counter in [
        "created",
        "updated",
        "unchanged",
        "conflicts",
        "failed",
        "queued",
    ] {
        assert_eq!(
            rest.0[counter], bulk.0[counter],
            "{counter}: {} vs {}",
            rest.0, bulk.0
        );
    }
    assert_eq!(rest.1.len(), ACCOUNTS);
    for (r, b) in rest.1.iter().zip(&bulk.1) {
        assert_eq!(r, b, "the same customers and contacts either way");
    }
    assert!(
        rest.1
            .iter()
            .any(|a| a["contacts"].as_array().unwrap().len() == 2),
        "the fixture's contacts reached NetSuite"
    );
}

async fn a_row_the_ingest_job_refuses_is_retried_then_dead_lettered_with_why(mesh: &TestMesh) {
    // As in the REST test: a customer whose id another account already holds in the unique
    // NetSuite_Id__c; the twin links to it by name, and the ingest job fails that one row.
    let customer = mesh
        .sandbox
        .ns_insert(
            "customer",
            isthmus_tests::lead::object(
                json!({ "companyName": "Bulk Refused Twin", "subsidiary": { "id": "1" } }),
            ),
        )
        .unwrap();
    let mut holder = Map::new();
    holder.insert("Name".into(), json!("Bulk Holder Of The Id"));
    holder.insert("NetSuite_Id__c".into(), json!(customer));
    mesh.sandbox.sf_insert("Account", holder).unwrap();
    let mut twin = Map::new();
    twin.insert("Name".into(), json!("Bulk Refused Twin"));
    let twin = mesh.sandbox.sf_insert("Account", twin).unwrap();
    let added = add_fixture(mesh);
    mesh.sandbox.reset_calls();

    let done = run_backfill(mesh).await;
    assert!(
        done["queued"].as_u64().unwrap() >= 1,
        "the refused row is queued: {done}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("GET /services/data/vXX.X/jobs/ingest/{jobId}/failedResults"),
        1,
        "the failures are read once: {calls:?}"
    );
    let dead = mesh.wait_dead_account(&twin).await;
    assert!(
        dead["error"]
            .as_str()
            .is_some_and(|e| e.contains("DUPLICATE_VALUE") || e.contains("duplicate value")),
        "a person sees the refused write-back and why: {dead}"
    );
    assert_each_account_synced_once(&mesh.sandbox, &added);
}
isthmus_tests::on_both_stores!(
    refused_ingest_row,
    a_row_the_ingest_job_refuses_is_retried_then_dead_lettered_with_why,
    |config: &mut isthmus::Config| {
        config.salesforce.bulk_threshold = BULK_THRESHOLD;
    }
);

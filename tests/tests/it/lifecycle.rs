//! Leads, prospects and customers (`customers.lifecycle`), asserted on the sandbox's NetSuite and
//! Salesforce: the stage a customer created from an account starts in, its promotion by its first
//! order (NetSuite's own rule, and the configured status written when it differs), leads and
//! prospects coming back to Salesforce as accounts, and a bad stage refusing to start.

use isthmus_engine::config::Stage;
use isthmus_tests::lead::{new_account, object, run_catalog, won_order};
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::json;

const CUSTOMER_GET: &str = "GET /services/rest/record/v1/customer/{id}";
const CUSTOMER_PATCH: &str = "PATCH /services/rest/record/v1/customer/{id}";

/// The customer's `entityStatus` and `stage` ids, as the sandbox holds them.
fn status_and_stage(mesh: &TestMesh, customer_id: &str) -> (String, String) {
    let customer = mesh.sandbox.ns_record("customer", customer_id).unwrap();
    (
        text(customer.get("entityStatus")).unwrap_or_default(),
        text(customer.get("stage")).unwrap_or_default(),
    )
}

async fn customer_of_new_account(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customers.len(), 1);
    (account, text(customers[0].get("id")).unwrap())
}

fn prospects(config: &mut isthmus::Config) {
    isthmus_tests::no_schedules(config);
    config.customers.lifecycle.new_account_stage = Stage::Prospect;
}

async fn a_new_account_becomes_a_prospect_and_its_first_order_makes_it_a_customer(mesh: &TestMesh) {
    let (account, customer_id) = customer_of_new_account(mesh, "Pendant Publishing").await;
    assert_eq!(
        status_and_stage(mesh, &customer_id),
        ("8".into(), "PROSPECT".into()),
        "created in the configured prospect status"
    );
    // An edit of the account later never touches the status.
    mesh.sandbox
        .sf_update(
            "Account",
            &account,
            object(json!({ "Phone": "+44 20 7946 0001" })),
        )
        .unwrap();
    let (_, again) = mesh.sync_account(&account, false).await;
    assert_eq!(again["outcome"], "updated", "{again}");
    assert_eq!(status_and_stage(mesh, &customer_id).1, "PROSPECT");

    run_catalog(mesh).await;
    mesh.sandbox.reset_calls();
    let (opportunity, body) = won_order(mesh, &account, "EUR", &[("WIDGET-100", 1.0, 0.0)]).await;
    assert_eq!(body["outcome"], "created", "{body}");
    let orders = mesh.ns_where("salesOrder", "externalId", &opportunity);
    assert_eq!(orders.len(), 1);
    assert_eq!(text(orders[0].get("entity")), Some(customer_id.clone()));
    assert_eq!(
        status_and_stage(mesh, &customer_id),
        ("13".into(), "CUSTOMER".into()),
        "the first order made it a customer, Closed Won"
    );
    let calls = mesh.sandbox.calls();
    // The stage read before the order and after it; NetSuite's own promotion left the
    // configured status, so nothing more is written to the customer.
    assert_eq!(calls.get(CUSTOMER_GET), 2, "{calls:?}");
    assert_eq!(calls.get(CUSTOMER_PATCH), 0, "{calls:?}");

    // A second order of a customer looks at nothing.
    mesh.sandbox.reset_calls();
    let (_, body) = won_order(mesh, &account, "EUR", &[("WIDGET-100", 2.0, 0.0)]).await;
    assert_eq!(body["outcome"], "created", "{body}");
    assert_eq!(
        mesh.sandbox.calls().get(CUSTOMER_GET),
        1,
        "the stage read only"
    );
    assert_eq!(status_and_stage(mesh, &customer_id).0, "13");
}
on_both_stores!(
    prospect_promoted,
    a_new_account_becomes_a_prospect_and_its_first_order_makes_it_a_customer,
    prospects
);

fn leads_promoted_to_renewal(config: &mut isthmus::Config) {
    isthmus_tests::no_schedules(config);
    let lifecycle = &mut config.customers.lifecycle;
    lifecycle.new_account_stage = Stage::Lead;
    lifecycle.statuses.lead = serde_json::from_value(json!("7")).unwrap();
    lifecycle.statuses.customer = serde_json::from_value(json!("15")).unwrap();
}

async fn the_first_order_of_a_lead_leaves_the_configured_customer_status(mesh: &TestMesh) {
    let (account, customer_id) = customer_of_new_account(mesh, "Kramerica Industries").await;
    assert_eq!(
        status_and_stage(mesh, &customer_id),
        ("7".into(), "LEAD".into())
    );
    run_catalog(mesh).await;
    mesh.sandbox.reset_calls();
    let (_, body) = won_order(mesh, &account, "USD", &[("WIDGET-100", 1.0, 0.0)]).await;
    assert_eq!(body["outcome"], "created", "{body}");
    // NetSuite promoted it to Closed Won (13); the configured customer status differs.
    assert_eq!(
        status_and_stage(mesh, &customer_id),
        ("15".into(), "CUSTOMER".into())
    );
    assert_eq!(mesh.sandbox.calls().get(CUSTOMER_PATCH), 1);
}
on_both_stores!(
    lead_promoted,
    the_first_order_of_a_lead_leaves_the_configured_customer_status,
    leads_promoted_to_renewal
);

async fn by_default_customers_are_created_as_customers_and_orders_read_no_stage(mesh: &TestMesh) {
    let (account, customer_id) = customer_of_new_account(mesh, "Vandelay Industries").await;
    assert_eq!(
        status_and_stage(mesh, &customer_id),
        ("13".into(), "CUSTOMER".into())
    );
    run_catalog(mesh).await;
    mesh.sandbox.reset_calls();
    let (_, body) = won_order(mesh, &account, "USD", &[("WIDGET-100", 1.0, 0.0)]).await;
    assert_eq!(body["outcome"], "created", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(CUSTOMER_GET), calls.get(CUSTOMER_PATCH)),
        (0, 0),
        "{calls:?}"
    );
    assert_eq!(status_and_stage(mesh, &customer_id).0, "13");
}
on_both_stores!(
    default_customers,
    by_default_customers_are_created_as_customers_and_orders_read_no_stage,
    isthmus_tests::no_schedules
);

async fn a_netsuite_lead_and_prospect_come_back_as_accounts(mesh: &TestMesh) {
    for (name, status) in [("Lead From NetSuite", "6"), ("Prospect From NetSuite", "9")] {
        let id = mesh
            .sandbox
            .ns_insert(
                "customer",
                object(json!({
                    "companyName": name,
                    "phone": "+1 415 555 0100",
                    "entityStatus": { "id": status },
                })),
            )
            .unwrap();
        let (status, body) = mesh.customer_event(&id.to_string(), "create").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["outcome"], "created", "{body}");
        let account_id = body["salesforce_id"].as_str().unwrap();
        let account = mesh.sandbox.sf_record("Account", account_id).unwrap();
        assert_eq!(text(account.get("Name")).as_deref(), Some(name));
        assert_eq!(
            text(account.get("NetSuite_Id__c")),
            Some(id.to_string()),
            "linked like a customer"
        );
    }
}
on_both_stores!(
    leads_come_back,
    a_netsuite_lead_and_prospect_come_back_as_accounts,
    isthmus_tests::no_schedules
);

/// `isthmus config` loads and checks the configuration as every part does when it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stage_refuses_to_start_with_a_clear_message() {
    let binary = isthmus_tests::isthmus_binary().await;
    let output = tokio::process::Command::new(binary)
        .arg("config")
        .env(
            "ISTHMUS_CUSTOMERS__LIFECYCLE__NEW_ACCOUNT_STAGE",
            "opportunity",
        )
        .output()
        .await
        .expect("isthmus runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in [
        "customers.lifecycle.new_account_stage",
        "opportunity",
        "prospect",
    ] {
        assert!(stderr.contains(part), "{part} in {stderr}");
    }
}

//! Lead to cash through `!transform`: a sales order becomes an item fulfilment and an invoice,
//! and the new records carry the order's customer, lines and link back to it.

use isthmus_netsuite::{ErrorClass, GetOptions, NetSuiteClient};
use serde_json::{json, Value};

use crate::{account, fields};

const EXPANDED: GetOptions = GetOptions {
    expand_sub_resources: true,
    fields: Vec::new(),
};

/// A customer and a sales order for 4 widgets at 25.00 and one installation at 120.00.
async fn sales_order(client: &NetSuiteClient) -> (String, String, String) {
    let customer = client
        .create(
            "customer",
            &fields(json!({ "companyName": "Vandelay Industries" })),
        )
        .await
        .unwrap();
    let widget = client
        .create(
            "inventoryItem",
            &fields(json!({ "itemId": "W-1", "displayName": "Widget", "basePrice": 25 })),
        )
        .await
        .unwrap();
    let service = client
        .create(
            "serviceSaleItem",
            &fields(json!({ "itemId": "SVC-1", "basePrice": 150 })),
        )
        .await
        .unwrap();
    let order = client
        .create(
            "salesOrder",
            &fields(json!({
                "entity": { "id": customer },
                "item": { "items": [
                    { "item": { "id": widget }, "quantity": 4 },
                    { "item": { "id": service }, "quantity": 1, "rate": 120 },
                ] },
            })),
        )
        .await
        .unwrap();
    (customer, order, widget)
}

fn lines(record: &serde_json::Map<String, Value>) -> Vec<(String, f64)> {
    record["item"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["item"]["id"].as_str().unwrap().to_owned(),
                line["quantity"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The order's status as `(id, name)`.
async fn order_status(client: &NetSuiteClient, order: &str) -> (String, String) {
    let order = client
        .get("salesOrder", order, &GetOptions::default())
        .await
        .unwrap();
    let text = |key: &str| order["orderStatus"][key].as_str().unwrap().to_owned();
    (text("id"), text("refName"))
}

#[tokio::test]
async fn a_sales_order_is_fulfilled_then_invoiced_by_transforms() {
    let account = account().await;
    let client = &account.client;
    let (customer, order, widget) = sales_order(client).await;

    let fulfilment = client
        .transform("salesOrder", &order, "itemFulfillment", &fields(json!({})))
        .await
        .unwrap();

    let shipped = client
        .get("itemFulfillment", &fulfilment, &EXPANDED)
        .await
        .unwrap();
    assert_eq!(shipped["createdFrom"]["id"], order.as_str());
    assert_eq!(shipped["entity"]["id"], customer.as_str());
    assert_eq!(lines(&shipped)[0], (widget, 4.0));
    assert_eq!(lines(&shipped).len(), 2);
    assert_eq!(order_status(client, &order).await.1, "Pending Billing");

    let invoice = client
        .transform("salesOrder", &order, "invoice", &fields(json!({})))
        .await
        .unwrap();

    let billed = client
        .get("invoice", &invoice, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(billed["createdFrom"]["id"], order.as_str());
    assert_eq!(billed["entity"]["id"], customer.as_str());
    assert_eq!(billed["total"], 220.0);
    assert_eq!(billed["amountRemaining"], 220.0);
    assert_eq!(order_status(client, &order).await.1, "Billed");
    let rows = client
        .suiteql(&format!(
            "SELECT type, createdfrom, foreigntotal FROM transaction
             WHERE createdfrom = {order} ORDER BY id"
        ))
        .await
        .unwrap();
    let kinds: Vec<&Value> = rows.iter().map(|row| &row["type"]).collect();
    assert_eq!(kinds, [&json!("ItemShip"), &json!("CustInvc")]);
}

#[tokio::test]
async fn a_transform_body_overrides_fields_and_lines_of_the_new_record() {
    let account = account().await;
    let client = &account.client;
    let (_, order, widget) = sales_order(client).await;
    let widget_line = client
        .suiteql(&format!(
            "SELECT id FROM transactionline
             WHERE transaction = {order} AND mainline = 'F' AND item = {widget}"
        ))
        .await
        .unwrap()[0]["id"]
        .clone();

    let partial = client
        .transform(
            "salesOrder",
            &order,
            "itemFulfillment",
            &fields(json!({
                "trackingNumbers": "1Z999AA10123456784",
                "item": { "items": [
                    { "item": { "id": widget }, "orderLine": widget_line, "quantity": 3 },
                ] },
            })),
        )
        .await
        .unwrap();

    let shipped = client
        .get("itemFulfillment", &partial, &EXPANDED)
        .await
        .unwrap();
    assert_eq!(shipped["trackingNumbers"], "1Z999AA10123456784");
    assert_eq!(lines(&shipped), [(widget.clone(), 3.0)]);
    let (_, status) = order_status(client, &order).await;
    assert!(status.ends_with("Partially Fulfilled"), "{status}");
    // The next fulfilment carries only what is still open.
    let rest = client
        .transform("salesOrder", &order, "itemFulfillment", &fields(json!({})))
        .await
        .unwrap();
    let rest = client
        .get("itemFulfillment", &rest, &EXPANDED)
        .await
        .unwrap();
    assert_eq!(lines(&rest)[0], (widget, 1.0));
}

#[tokio::test]
async fn a_fully_fulfilled_order_cannot_be_fulfilled_again() {
    let account = account().await;
    let client = &account.client;
    let (_, order, _) = sales_order(client).await;
    client
        .transform("salesOrder", &order, "itemFulfillment", &fields(json!({})))
        .await
        .unwrap();

    let err = client
        .transform("salesOrder", &order, "itemFulfillment", &fields(json!({})))
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.error_code(), Some("USER_ERROR"), "{err}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(account.sandbox.ns_records("itemFulfillment").len(), 1);
}

#[tokio::test]
async fn an_invoice_is_paid_by_transforming_it_into_a_customer_payment() {
    let account = account().await;
    let client = &account.client;
    let (customer, order, _) = sales_order(client).await;
    let invoice = client
        .transform("salesOrder", &order, "invoice", &fields(json!({})))
        .await
        .unwrap();

    let payment = client
        .transform("invoice", &invoice, "customerPayment", &fields(json!({})))
        .await
        .unwrap();

    let paid = client
        .get("invoice", &invoice, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(paid["amountRemaining"], 0.0);
    let payment = client
        .get("customerPayment", &payment, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(payment["customer"]["id"], customer.as_str());
    let customer = client
        .get("customer", &customer, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(customer["balance"], 0.0);
}

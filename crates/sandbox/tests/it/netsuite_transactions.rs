//! Items, sales orders and their transforms, invoices, payments and credit memos over the record
//! API, with the bookkeeping NetSuite does (totals, amounts remaining, statuses, balances) and the
//! SuiteQL tables that show them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

pub(crate) async fn create(h: &Harness, record_type: &str, body: Value) -> String {
    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/{record_type}"),
            Some(body),
        )
        .await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(status, 204, "{:?}", response.text().await);
    let location = location.unwrap();
    assert!(location.contains(&format!("/record/v1/{record_type}/")));
    location.rsplit('/').next().unwrap().to_owned()
}

async fn get(h: &Harness, path: &str) -> Value {
    let response = h.ns(Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn transform(h: &Harness, path: &str) -> (u16, String) {
    let response = h.ns(Method::POST, path, None).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().rsplit('/').next().unwrap().to_owned());
    match location {
        Some(id) => (status, id),
        None => {
            let body: Value = response.json().await.unwrap();
            (
                status,
                body["o:errorDetails"][0]["o:errorCode"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        }
    }
}

pub(crate) async fn suiteql(h: &Harness, q: &str) -> Vec<Value> {
    let response = h
        .ns(Method::POST, "query/v1/suiteql", Some(json!({ "q": q })))
        .await;
    assert_eq!(response.status(), 200, "{q}");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// A customer, a widget at 25.00 and a service at 150.00.
async fn catalogue(h: &Harness) -> (String, String, String) {
    let customer = create(
        h,
        "customer",
        json!({ "companyName": "Vandelay Industries" }),
    )
    .await;
    let widget = create(
        h,
        "inventoryItem",
        json!({ "itemId": "W-1", "displayName": "Widget", "basePrice": 25,
                "price": { "items": [
                    { "priceLevel": { "id": "1" }, "currencyPage": 1, "price": 25.0, "quantity": { "value": 0 } },
                    { "priceLevel": { "id": "1" }, "currencyPage": { "id": "2" }, "price": 23.0 } ] } }),
    )
    .await;
    let service = create(
        h,
        "serviceSaleItem",
        json!({ "itemId": "SVC-1", "basePrice": 150 }),
    )
    .await;
    (customer, widget, service)
}

#[tokio::test]
async fn items_of_each_type_share_the_item_table_and_show_prices_by_level_and_currency() {
    let h = empty().await;
    let (_, widget, service) = catalogue(&h).await;
    let body = get(
        &h,
        &format!("record/v1/inventoryItem/{widget}?expandSubResources=true"),
    )
    .await;
    assert_eq!(body["itemId"], "W-1");
    assert_eq!(body["basePrice"], 25.0);
    assert_eq!(body["isInactive"], false);
    let prices = body["price"]["items"].as_array().unwrap();
    assert_eq!(prices.len(), 2);
    assert_eq!(prices[1]["priceLevel"]["refName"], "Base Price");
    assert_eq!(prices[1]["currencyPage"]["refName"], "Euro");
    assert_eq!(prices[1]["price"], 23.0);
    // An id of one item type is not found as another.
    let wrong = h
        .ns(Method::GET, &format!("record/v1/kitItem/{widget}"), None)
        .await;
    assert_eq!(wrong.status(), 404);
    let rows = suiteql(
        &h,
        "SELECT i.itemid, i.itemtype, p.unitprice, c.symbol FROM item i
         JOIN pricing p ON p.item = i.id JOIN currency c ON c.id = p.currency ORDER BY i.id, c.id",
    )
    .await;
    assert_eq!(
        rows.iter()
            .map(|r| (
                r["itemid"].as_str().unwrap(),
                r["itemtype"].as_str().unwrap(),
                r["symbol"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("W-1", "InvtPart", "USD"), ("W-1", "InvtPart", "EUR")]
    );
    let services = suiteql(&h, "SELECT id FROM item WHERE itemtype = 'Service'").await;
    assert_eq!(services[0]["id"], service);
}

#[tokio::test]
async fn a_sales_order_totals_its_lines_and_is_fulfilled_then_billed_by_transforms() {
    let h = empty().await;
    let (customer, widget, service) = catalogue(&h).await;
    let order = create(
        &h,
        "salesOrder",
        json!({ "entity": { "id": customer }, "externalId": "SF-ORDER-1", "memo": "First order",
                "item": { "items": [
                    { "item": { "id": widget }, "quantity": 4 },
                    { "item": { "id": service }, "quantity": 1, "rate": 120, "description": "Install" } ] } }),
    )
    .await;
    let body = get(
        &h,
        &format!("record/v1/salesOrder/{order}?expandSubResources=true"),
    )
    .await;
    assert_eq!(body["tranId"], format!("SO{order}"));
    assert_eq!(body["total"], 220.0);
    assert_eq!(
        body["orderStatus"],
        json!({ "id": "B", "refName": "Pending Fulfillment" })
    );
    assert_eq!(body["entity"]["id"], customer);
    assert_eq!(body["currency"]["refName"], "US Dollar");
    let lines = body["item"]["items"].as_array().unwrap();
    assert_eq!(
        (lines[0]["rate"].clone(), lines[0]["amount"].clone()),
        (json!(25.0), json!(100.0))
    );
    assert_eq!(lines[0]["item"]["refName"], "W-1");
    assert!(lines[0]["item"]["links"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/inventoryItem/{widget}")));

    let (status, fulfilment) = transform(
        &h,
        &format!("record/v1/salesOrder/{order}/!transform/itemFulfillment"),
    )
    .await;
    assert_eq!(status, 204);
    let shipped = get(
        &h,
        &format!("record/v1/itemFulfillment/{fulfilment}?expandSubResources=true"),
    )
    .await;
    assert_eq!(shipped["createdFrom"]["id"], order);
    assert_eq!(
        shipped["createdFrom"]["refName"],
        format!("Sales Order #SO{order}")
    );
    assert_eq!(shipped["shipStatus"]["refName"], "Shipped");
    assert_eq!(shipped["item"]["items"].as_array().unwrap().len(), 2);
    let status =
        get(&h, &format!("record/v1/salesOrder/{order}")).await["orderStatus"]["id"].clone();
    assert_eq!(status, "F");
    // Nothing is left to fulfil.
    assert_eq!(
        transform(
            &h,
            &format!("record/v1/salesOrder/{order}/!transform/itemFulfillment")
        )
        .await,
        (400, "USER_ERROR".to_owned())
    );

    let (_, invoice) = transform(
        &h,
        &format!("record/v1/salesOrder/{order}/!transform/invoice"),
    )
    .await;
    let billed = get(&h, &format!("record/v1/invoice/{invoice}")).await;
    assert_eq!(billed["total"], 220.0);
    assert_eq!(billed["amountRemaining"], 220.0);
    assert_eq!(billed["status"]["refName"], "Open");
    assert!(billed["dueDate"].as_str().unwrap() > billed["tranDate"].as_str().unwrap());
    let order_body = get(&h, &format!("record/v1/salesOrder/{order}")).await;
    assert_eq!(order_body["status"]["refName"], "Billed");
    let customer_body = get(&h, &format!("record/v1/customer/{customer}")).await;
    assert_eq!(customer_body["balance"], 220.0);

    let links = suiteql(
        &h,
        &format!("SELECT previousdoc, nexttype, linktype FROM previoustransactionlinelink WHERE previousdoc = {order} ORDER BY nextdoc"),
    )
    .await;
    assert_eq!(links.len(), 2);
    assert_eq!(
        (links[1]["nexttype"].clone(), links[1]["linktype"].clone()),
        (json!("CustInvc"), json!("OrdBill"))
    );
}

#[tokio::test]
async fn payments_and_credit_memos_reduce_what_invoices_owe_and_the_customer_balance() {
    let h = empty().await;
    let (customer, widget, _) = catalogue(&h).await;
    let invoice = create(
        &h,
        "invoice",
        json!({ "entity": { "id": customer }, "tranDate": "2025-01-10", "dueDate": "2025-02-09",
                "item": { "items": [{ "item": { "id": widget }, "quantity": 10 }] } }),
    )
    .await;
    let customer_path = format!("record/v1/customer/{customer}");
    assert_eq!(get(&h, &customer_path).await["overdueBalance"], 250.0);

    let payment = create(
        &h,
        "customerPayment",
        json!({ "customer": { "id": customer }, "payment": 100,
                "apply": { "items": [{ "doc": { "id": invoice }, "apply": true, "amount": 100 }] } }),
    )
    .await;
    let open = get(&h, &format!("record/v1/invoice/{invoice}")).await;
    assert_eq!(
        (
            open["amountRemaining"].clone(),
            open["status"]["id"].clone()
        ),
        (json!(150.0), json!("Open"))
    );

    // Applying more than the invoice owes is refused and changes nothing.
    let too_much = h
        .ns(
            Method::POST,
            "record/v1/customerPayment",
            Some(json!({ "customer": { "id": customer }, "payment": 500,
                         "apply": { "items": [{ "doc": { "id": invoice }, "amount": 500 }] } })),
        )
        .await;
    assert_eq!(too_much.status(), 400);
    assert_eq!(get(&h, &customer_path).await["balance"], 150.0);

    let (status, _) = transform(
        &h,
        &format!("record/v1/invoice/{invoice}/!transform/creditMemo"),
    )
    .await;
    assert_eq!(status, 204);
    let paid = get(&h, &format!("record/v1/invoice/{invoice}")).await;
    assert_eq!(
        (
            paid["amountRemaining"].clone(),
            paid["status"]["refName"].clone()
        ),
        (json!(0.0), json!("Paid In Full"))
    );
    // The memo credits all 250 of the invoice's lines, 150 of it applied: 100 is left as credit.
    let customer_body = get(&h, &customer_path).await;
    assert_eq!(
        (
            customer_body["balance"].clone(),
            customer_body["overdueBalance"].clone()
        ),
        (json!(-100.0), json!(0.0))
    );

    let rows = suiteql(
        &h,
        "SELECT t.type, t.foreigntotal, t.foreignamountremaining, BUILTIN.DF(t.status) AS status
         FROM transaction t WHERE t.type = 'CustInvc'",
    )
    .await;
    assert_eq!(rows[0]["foreignamountremaining"], "0");
    let lines = suiteql(
        &h,
        &format!(
            "SELECT tl.mainline, tl.quantity, tl.foreignamount FROM transactionline tl
                  WHERE tl.transaction = {invoice} ORDER BY tl.id"
        ),
    )
    .await;
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[1]["mainline"].clone(), lines[1]["quantity"].clone()),
        (json!("F"), json!("-10"))
    );

    // An invoice with payments applied cannot be deleted; the payment can (the credit memo
    // still covers 150 of the 250).
    let refused = h
        .ns(
            Method::DELETE,
            &format!("record/v1/invoice/{invoice}"),
            None,
        )
        .await;
    assert_eq!(refused.status(), 400);
    let deleted = h
        .ns(
            Method::DELETE,
            &format!("record/v1/customerPayment/{payment}"),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        get(&h, &format!("record/v1/invoice/{invoice}")).await["amountRemaining"],
        100.0
    );
}

#[tokio::test]
async fn transaction_writes_are_validated_like_netsuite() {
    let h = empty().await;
    let (customer, widget, _) = catalogue(&h).await;
    let cases = [
        ("salesOrder", json!({ "entity": { "id": customer } })),
        ("salesOrder", json!({ "item": { "items": [] } })),
        (
            "salesOrder",
            json!({ "entity": { "id": customer }, "orderStatus": { "id": "Z" },
                               "item": { "items": [{ "item": { "id": "1" } }] } }),
        ),
        (
            "customerPayment",
            json!({ "customer": { "id": customer },
                                    "apply": { "items": [{ "doc": { "id": customer } }] } }),
        ),
        (
            "salesOrder",
            json!({ "entity": { "id": customer },
                               "item": { "items": [{ "item": { "externalId": "nope" } }] } }),
        ),
    ];
    for (record_type, body) in cases {
        let response = h
            .ns(
                Method::POST,
                &format!("record/v1/{record_type}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), 400, "{body}");
    }
    let pending = create(
        &h,
        "salesOrder",
        json!({ "entity": { "id": customer }, "orderStatus": "A",
                "item": { "items": [{ "item": { "id": widget } }] } }),
    )
    .await;
    let body = get(&h, &format!("record/v1/salesOrder/{pending}")).await;
    assert_eq!(
        body["status"],
        json!({ "id": "Pending Approval", "refName": "Pending Approval" })
    );
    assert_eq!(
        transform(
            &h,
            &format!("record/v1/salesOrder/{pending}/!transform/itemFulfillment")
        )
        .await,
        (400, "USER_ERROR".to_owned())
    );
    assert_eq!(
        transform(
            &h,
            &format!("record/v1/salesOrder/{pending}/!transform/customerPayment")
        )
        .await,
        (400, "INVALID_PARAMETER".to_owned())
    );
}

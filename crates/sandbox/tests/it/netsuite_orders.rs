//! What the orders and renewals flows rely on in the account: a sales order's contract term, PO
//! number and the order it renews, written through create, update and external-id upsert; line
//! amounts and totals; and SuiteQL over date windows and `transactionline`, with dates shown as
//! NetSuite shows them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn write(h: &Harness, method: Method, path: &str, body: Value) -> String {
    let response = h.ns(method, path, Some(body)).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(status, 204, "{path}: {:?}", response.text().await);
    location
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .unwrap_or_default()
}

async fn get(h: &Harness, path: &str) -> Value {
    let response = h.ns(Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn suiteql(h: &Harness, q: &str) -> Vec<Value> {
    let response = h
        .ns(Method::POST, "query/v1/suiteql", Some(json!({ "q": q })))
        .await;
    assert_eq!(response.status(), 200, "{q}");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// A customer and an item priced at 25.00.
async fn customer_and_item(h: &Harness) -> (String, String) {
    let customer = write(
        h,
        Method::POST,
        "record/v1/customer",
        json!({ "companyName": "Vandelay Industries" }),
    )
    .await;
    let item = write(
        h,
        Method::POST,
        "record/v1/serviceSaleItem",
        json!({ "itemId": "LIC-1", "basePrice": 25 }),
    )
    .await;
    (customer, item)
}

/// A sales order of `quantity` × `item` at 25.00 for the contract term ending `end`.
async fn order(h: &Harness, customer: &str, item: &str, end: &str, quantity: f64) -> String {
    write(
        h,
        Method::POST,
        "record/v1/salesOrder",
        json!({ "entity": { "id": customer }, "startDate": "2026-02-01", "endDate": end,
                "item": { "items": [{ "item": { "id": item }, "quantity": quantity, "rate": 25 }] } }),
    )
    .await
}

#[tokio::test]
async fn a_renewal_order_upserts_its_term_po_number_and_the_order_it_renews() {
    let h = empty().await;
    let (customer, item) = customer_and_item(&h).await;
    let original = order(&h, &customer, &item, "2026-11-30", 1.0).await;

    let path = "record/v1/salesOrder/eid:SF-RENEWAL-1";
    let renewal = write(
        &h,
        Method::PUT,
        path,
        json!({ "entity": { "id": customer }, "startDate": "2026-12-01", "endDate": "2027-11-30",
                "otherRefNum": "PO-7781", "custbody_isthmus_renewal_of": { "id": original },
                "item": { "items": [
                    { "item": { "id": item }, "quantity": 3, "rate": 19.99 },
                    { "item": { "id": item }, "quantity": 2, "rate": 40 } ] } }),
    )
    .await;
    let body = get(
        &h,
        &format!("record/v1/salesOrder/{renewal}?expandSubResources=true"),
    )
    .await;
    assert_eq!(body["externalId"], "SF-RENEWAL-1");
    assert_eq!(
        (body["startDate"].clone(), body["endDate"].clone()),
        (json!("2026-12-01"), json!("2027-11-30")),
        "the record API shows dates in ISO form"
    );
    assert_eq!(body["otherRefNum"], "PO-7781");
    assert_eq!(body["custbody_isthmus_renewal_of"]["id"], original.as_str());
    assert_eq!(
        body["custbody_isthmus_renewal_of"]["refName"],
        format!("Sales Order #SO{original}")
    );
    assert!(body["custbody_isthmus_renewal_of"]["links"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/salesOrder/{original}")));
    let amounts: Vec<Value> = body["item"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].clone())
        .collect();
    assert_eq!(amounts, [json!(59.97), json!(80.0)], "quantity × rate");
    assert_eq!(body["total"], 139.97);

    // PATCH changes the term and the PO number; the lines stay.
    write(
        &h,
        Method::PATCH,
        &format!("record/v1/salesOrder/{renewal}"),
        json!({ "endDate": "2027-12-31", "otherRefNum": "PO-7781-A" }),
    )
    .await;
    // The same upsert with replace=item replaces the lines, and the total follows.
    let again = write(
        &h,
        Method::PUT,
        &format!("{path}?replace=item"),
        json!({ "item": { "items": [{ "item": { "id": item }, "quantity": 10, "rate": 20 }] } }),
    )
    .await;
    assert_eq!(again, renewal);
    let body = get(
        &h,
        &format!("record/v1/salesOrder/{renewal}?expandSubResources=true"),
    )
    .await;
    assert_eq!(
        (body["endDate"].clone(), body["otherRefNum"].clone()),
        (json!("2027-12-31"), json!("PO-7781-A"))
    );
    let lines = body["item"]["items"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["amount"], 200.0);
    assert_eq!(body["total"], 200.0);
    assert_eq!(h.sandbox.ns_records("salesOrder").len(), 2);

    let rows = suiteql(
        &h,
        "SELECT t.id, t.startdate, t.enddate, t.otherrefnum, t.custbody_isthmus_renewal_of,
                TO_CHAR(t.enddate, 'YYYY-MM-DD') AS enddateiso, t.foreigntotal
         FROM transaction t WHERE t.externalid = 'SF-RENEWAL-1'",
    )
    .await;
    assert_eq!(
        rows,
        [
            json!({ "links": [], "id": renewal, "startdate": "12/1/2026", "enddate": "12/31/2027",
                 "otherrefnum": "PO-7781-A", "custbody_isthmus_renewal_of": original,
                 "enddateiso": "2027-12-31", "foreigntotal": "200" })
        ]
    );

    // A renewal must point at a transaction that exists.
    let refused = h
        .ns(
            Method::PATCH,
            &format!("record/v1/salesOrder/{renewal}"),
            Some(json!({ "custbody_isthmus_renewal_of": { "id": "999999" } })),
        )
        .await;
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn suiteql_finds_orders_ending_in_a_window_and_reads_their_lines() {
    let h = empty().await;
    let (customer, item) = customer_and_item(&h).await;
    let mut orders = Vec::new();
    for (end, quantity) in [
        ("2026-11-30", 1.0),
        ("2026-12-15", 3.0),
        ("2027-01-31", 2.0),
        ("2027-02-01", 4.0),
    ] {
        orders.push(order(&h, &customer, &item, end, quantity).await);
    }
    let due = suiteql(
        &h,
        "SELECT t.id, t.enddate FROM transaction t WHERE t.type = 'SalesOrd'
           AND t.enddate >= TO_DATE('2026-12-01', 'YYYY-MM-DD')
           AND t.enddate <= TO_DATE('2027-01-31', 'YYYY-MM-DD')
         ORDER BY t.enddate",
    )
    .await;
    assert_eq!(
        due.iter()
            .map(|r| (r["id"].as_str().unwrap(), r["enddate"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            (orders[1].as_str(), "12/15/2026"),
            (orders[2].as_str(), "1/31/2027")
        ]
    );

    let lines = suiteql(
        &h,
        &format!(
            "SELECT tl.transaction, tl.id, tl.linesequencenumber, tl.item, tl.quantity, tl.rate, tl.netamount
             FROM transactionline tl WHERE tl.transaction = {} AND tl.mainline = 'F'
             ORDER BY tl.linesequencenumber",
            orders[1]
        ),
    )
    .await;
    assert_eq!(
        lines,
        [
            json!({ "links": [], "transaction": orders[1], "id": "1", "linesequencenumber": "1",
                 "item": item, "quantity": "-3", "rate": "25", "netamount": "-75" })
        ],
        "sales lines post negative quantities and amounts"
    );

    // A datetime shows its date only; TO_CHAR gives its time.
    let record = get(&h, &format!("record/v1/salesOrder/{}", orders[0])).await;
    let modified = record["lastModifiedDate"].as_str().unwrap();
    let rows = suiteql(
        &h,
        &format!(
            "SELECT t.lastmodifieddate, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS stamp
             FROM transaction t WHERE t.id = {}",
            orders[0]
        ),
    )
    .await;
    assert_eq!(rows[0]["stamp"], modified.trim_end_matches('Z'));
    let date = chrono::NaiveDate::parse_from_str(&modified[..10], "%Y-%m-%d").unwrap();
    assert_eq!(
        rows[0]["lastmodifieddate"],
        date.format("%-m/%-d/%Y").to_string()
    );

    let bad = h
        .ns(
            Method::POST,
            "query/v1/suiteql",
            Some(json!({ "q": "SELECT id FROM transaction WHERE enddate >= TO_DATE('31.01.2027', 'YYYY-MM-DD')" })),
        )
        .await;
    assert_eq!(bad.status(), 400);
}

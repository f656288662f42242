//! Tax codes (`salesTaxItem`) and units of measure (`unitsType` with its `uom` sublist) over the
//! record API: what a sales order line with a tax code and a unit becomes, the order's
//! `subtotal`, `taxTotal` and `total`, what invoices carry over, what is refused, and the SuiteQL
//! tables that show them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn create(h: &Harness, record_type: &str, body: Value) -> String {
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
    location.unwrap().rsplit('/').next().unwrap().to_owned()
}

/// The status and error code of a write that should fail.
async fn refused(h: &Harness, record_type: &str, body: Value) -> (u16, String) {
    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/{record_type}"),
            Some(body),
        )
        .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let code = body["o:errorDetails"][0]["o:errorCode"].as_str().unwrap();
    (status, code.to_owned())
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

/// A "Count" units type (Each, the base; Box of 12): its id and the two units' internal ids.
async fn count_units(h: &Harness) -> (String, String, String) {
    let units = create(
        h,
        "unitsType",
        json!({ "name": "Count", "uom": { "items": [
            { "unitName": "Each", "pluralName": "Each", "abbreviation": "ea",
              "pluralAbbreviation": "ea", "conversionRate": 1.0, "baseUnit": true, "inUse": false },
            { "unitName": "Box of 12", "pluralName": "Boxes of 12", "abbreviation": "bx",
              "pluralAbbreviation": "bx", "conversionRate": 12, "baseUnit": false } ] } }),
    )
    .await;
    let body = get(
        h,
        &format!("record/v1/unitsType/{units}?expandSubResources=true"),
    )
    .await;
    let uom = body["uom"]["items"].as_array().unwrap();
    let id = |n: usize| uom[n]["internalId"].as_str().unwrap().to_owned();
    (units, id(0), id(1))
}

#[tokio::test]
async fn units_get_account_wide_ids_and_one_base_unit_is_required() {
    let h = empty().await;
    let (units, each, boxed) = count_units(&h).await;
    assert_ne!(each, boxed);
    let body = get(
        &h,
        &format!("record/v1/unitsType/{units}?expandSubResources=true"),
    )
    .await;
    assert_eq!(body["name"], "Count");
    assert_eq!(body["uom"]["items"][1]["conversionRate"], 12.0);
    assert_eq!(body["uom"]["items"][0]["baseUnit"], true);
    // A second type's units are numbered after the first's.
    let (_, kg, _) = {
        let weight = create(
            &h,
            "unitsType",
            json!({ "name": "Weight", "uom": { "items": [
                { "unitName": "Kilogram", "abbreviation": "kg", "baseUnit": true },
                { "unitName": "Gram", "abbreviation": "g", "conversionRate": 0.001 } ] } }),
        )
        .await;
        let body = get(
            &h,
            &format!("record/v1/unitsType/{weight}?expandSubResources=true"),
        )
        .await;
        let id = |n: usize| {
            body["uom"]["items"][n]["internalId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        (weight, id(0), id(1))
    };
    assert!(kg.parse::<i64>().unwrap() > boxed.parse::<i64>().unwrap());
    let two_bases = json!({ "name": "Odd", "uom": { "items": [
        { "unitName": "A", "abbreviation": "a", "conversionRate": 1, "baseUnit": true },
        { "unitName": "B", "abbreviation": "b", "conversionRate": 2, "baseUnit": true } ] } });
    assert_eq!(
        refused(&h, "unitsType", two_bases).await,
        (400, "USER_ERROR".into())
    );
    let rows = suiteql(
        &h,
        &format!("SELECT internalid, unitname, conversionrate, baseunit FROM unitstypeuom WHERE unitstype = {units} ORDER BY internalid"),
    )
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["internalid"], each.as_str());
    assert_eq!(rows[1]["unitname"], "Box of 12");
    assert_eq!(rows[0]["baseunit"], "T");
}

#[tokio::test]
async fn an_item_sells_in_a_unit_of_its_own_units_type_only() {
    let h = empty().await;
    let (units, _, boxed) = count_units(&h).await;
    let item = create(
        &h,
        "inventoryItem",
        json!({ "itemId": "W-12", "basePrice": 30, "unitsType": { "id": units }, "saleUnit": { "id": boxed } }),
    )
    .await;
    let body = get(&h, &format!("record/v1/inventoryItem/{item}")).await;
    assert_eq!(body["unitsType"]["refName"], "Count");
    assert_eq!(body["saleUnit"]["id"], boxed.as_str());
    assert_eq!(body["saleUnit"]["refName"], "Box of 12");
    // A unit with no units type, or of another type, is refused.
    assert_eq!(
        refused(
            &h,
            "inventoryItem",
            json!({ "itemId": "W-13", "saleUnit": { "id": boxed } })
        )
        .await,
        (400, "USER_ERROR".into())
    );
    let rows = suiteql(
        &h,
        &format!("SELECT i.itemid, u.unitname FROM item i JOIN unitstypeuom u ON u.internalid = i.saleunit WHERE i.id = {item}"),
    )
    .await;
    assert_eq!(rows[0]["unitname"], "Box of 12");
}

#[tokio::test]
async fn a_line_tax_code_sets_the_line_tax_and_the_order_tax_total_and_total() {
    let h = empty().await;
    let (units, each, boxed) = count_units(&h).await;
    let customer = create(
        &h,
        "customer",
        json!({ "companyName": "Vandelay Industries" }),
    )
    .await;
    let widget = create(
        &h,
        "inventoryItem",
        json!({ "itemId": "W-12", "basePrice": 30, "unitsType": { "id": units }, "saleUnit": { "id": boxed } }),
    )
    .await;
    let service = create(
        &h,
        "serviceSaleItem",
        json!({ "itemId": "SVC-1", "basePrice": 50 }),
    )
    .await;
    let ca = create(
        &h,
        "salesTaxItem",
        json!({ "itemId": "CA 8.25%", "description": "California", "rate": 8.25 }),
    )
    .await;
    let order = create(
        &h,
        "salesOrder",
        json!({ "entity": { "id": customer }, "item": { "items": [
            { "item": { "id": widget }, "quantity": 2, "rate": 100, "taxCode": { "id": ca } },
            { "item": { "id": widget }, "quantity": 3, "rate": 10, "units": { "id": each } },
            { "item": { "id": service }, "quantity": 1 } ] } }),
    )
    .await;
    let body = get(
        &h,
        &format!("record/v1/salesOrder/{order}?expandSubResources=true"),
    )
    .await;
    assert_eq!(body["subtotal"], 280.0);
    assert_eq!(body["taxTotal"], 16.5);
    assert_eq!(body["total"], 296.5);
    let lines = body["item"]["items"].as_array().unwrap();
    assert_eq!(lines[0]["taxCode"]["id"], ca.as_str());
    assert_eq!(lines[0]["taxCode"]["refName"], "CA 8.25%");
    assert_eq!(lines[0]["taxRate1"], 8.25);
    assert_eq!(lines[0]["tax1Amt"], 16.5);
    // A line without units sells in the item's sale unit; a service has none.
    assert_eq!(lines[0]["units"]["refName"], "Box of 12");
    assert_eq!(lines[1]["units"]["id"], each.as_str());
    assert!(lines[1].get("tax1Amt").is_none());
    assert!(lines[2].get("units").is_none());

    // The invoice carries the tax codes and units over, and bills the total with its tax.
    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/salesOrder/{order}/!transform/invoice"),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let invoice = response.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let billed = get(
        &h,
        &format!("record/v1/invoice/{invoice}?expandSubResources=true"),
    )
    .await;
    assert_eq!(billed["taxTotal"], 16.5);
    assert_eq!(billed["total"], 296.5);
    assert_eq!(billed["amountRemaining"], 296.5);
    assert_eq!(billed["item"]["items"][0]["taxCode"]["id"], ca.as_str());
    assert_eq!(billed["item"]["items"][1]["units"]["id"], each.as_str());

    let rows = suiteql(
        &h,
        &format!("SELECT t.taxtotal, t.foreigntotal, s.itemid, s.rate FROM transaction t, salestaxitem s WHERE t.id = {order} AND s.id = {ca}"),
    )
    .await;
    assert_eq!(rows[0]["taxtotal"], "16.5");
    assert_eq!(rows[0]["foreigntotal"], "296.5");
    assert_eq!(rows[0]["rate"], "8.25");
}

#[tokio::test]
async fn an_order_without_tax_codes_totals_its_lines_with_no_tax() {
    let h = empty().await;
    let customer = create(&h, "customer", json!({ "companyName": "Kramerica" })).await;
    let service = create(
        &h,
        "serviceSaleItem",
        json!({ "itemId": "SVC-1", "basePrice": 50 }),
    )
    .await;
    let order = create(
        &h,
        "salesOrder",
        json!({ "entity": { "id": customer }, "item": { "items": [ { "item": { "id": service }, "quantity": 3 } ] } }),
    )
    .await;
    let body = get(&h, &format!("record/v1/salesOrder/{order}")).await;
    assert_eq!(
        (
            body["subtotal"].clone(),
            body["taxTotal"].clone(),
            body["total"].clone()
        ),
        (json!(150.0), json!(0.0), json!(150.0))
    );
}

#[tokio::test]
async fn a_unit_of_another_units_type_or_an_unknown_tax_code_is_refused_and_nothing_is_written() {
    let h = empty().await;
    let (units, _, _) = count_units(&h).await;
    let weight = create(
        &h,
        "unitsType",
        json!({ "name": "Weight", "uom": { "items": [ { "unitName": "Kilogram", "abbreviation": "kg", "baseUnit": true } ] } }),
    )
    .await;
    let body = get(
        &h,
        &format!("record/v1/unitsType/{weight}?expandSubResources=true"),
    )
    .await;
    let kg = body["uom"]["items"][0]["internalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = create(&h, "customer", json!({ "companyName": "Kramerica" })).await;
    let widget = create(
        &h,
        "inventoryItem",
        json!({ "itemId": "W-12", "basePrice": 30, "unitsType": { "id": units } }),
    )
    .await;
    let line = |extra: Value| {
        let mut line = json!({ "item": { "id": widget }, "quantity": 1 });
        line.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "entity": { "id": customer }, "item": { "items": [line] } })
    };
    assert_eq!(
        refused(&h, "salesOrder", line(json!({ "units": { "id": kg } }))).await,
        (400, "USER_ERROR".into())
    );
    assert_eq!(
        refused(
            &h,
            "salesOrder",
            line(json!({ "taxCode": { "id": "999999" } }))
        )
        .await,
        (400, "INVALID_CONTENT".into())
    );
    assert!(suiteql(&h, "SELECT id FROM transaction").await.is_empty());
}

"""simple-salesforce's Bulk API 2.0 client (`sf.bulk2`, unchanged) against the sandbox over HTTPS.

Each test writes or reads through the client as its documentation shows, then looks at what ended
up in the org through the sandbox's uncounted control endpoints (`/__sandbox/salesforce/...`), so
the proof does not rest on the client's own report.
"""

import csv
import io

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceOperationError

from conftest import sandbox_session

# Seconds the client sleeps before its first job poll (its default is 5).
WAIT = 0.2


def control(env, path):
    """GET an uncounted `/__sandbox/salesforce/` control endpoint."""
    return sandbox_session(env).get(
        f"{env.sandbox_sf_https_url}/__sandbox/salesforce/{path}", timeout=10
    )


def stored(env, record_id):
    """The Account as the org holds it, or None when it does not exist."""
    response = control(env, f"records/Account/{record_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_writes_the_valid_rows_and_reports_each_row(sf, env, unique):
    records = [
        {"Name": f"{unique} Bulk {i}", "Industry": "Retail", "BillingCity": "Lyon, FR"}
        for i in range(3)
    ] + [{"Name": "", "Industry": "Energy", "BillingCity": "Paris"}]
    [result] = sf.bulk2.Account.insert(records=records, wait=WAIT)
    assert result["numberRecordsProcessed"] == 4
    assert result["numberRecordsFailed"] == 1
    assert result["numberRecordsTotal"] == 4
    successful = rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert [row["Name"] for row in successful] == [f"{unique} Bulk {i}" for i in range(3)]
    for row in successful:
        assert row["sf__Created"] == "true"
        record = stored(env, row["sf__Id"])
        assert record["Name"] == row["Name"]
        assert record["Industry"] == "Retail"
        assert record["BillingCity"] == "Lyon, FR"
    [failed] = rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failed["sf__Id"] == ""
    assert failed["Industry"] == "Energy"
    counted = sf.query(format_soql("SELECT COUNT() FROM Account WHERE Name LIKE {}", f"{unique}%"))
    assert counted["totalSize"] == 3


def test_upsert_by_external_id_updates_the_match_and_creates_the_rest(sf, env, unique):
    existing = sf.Account.create({"Name": f"{unique} Old", "NetSuite_Id__c": f"{unique}-1"})["id"]
    records = [
        {"NetSuite_Id__c": f"{unique}-1", "Name": f"{unique} Renamed"},
        {"NetSuite_Id__c": f"{unique}-2", "Name": f"{unique} New"},
    ]
    [result] = sf.bulk2.Account.upsert(
        records=records, external_id_field="NetSuite_Id__c", wait=WAIT
    )
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (2, 0)
    successful = {
        row["NetSuite_Id__c"]: row
        for row in rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    }
    assert successful[f"{unique}-1"]["sf__Id"] == existing
    assert successful[f"{unique}-1"]["sf__Created"] == "false"
    assert successful[f"{unique}-2"]["sf__Created"] == "true"
    assert stored(env, existing)["Name"] == f"{unique} Renamed"
    created = stored(env, successful[f"{unique}-2"]["sf__Id"])
    assert created["Name"] == f"{unique} New"
    assert created["NetSuite_Id__c"] == f"{unique}-2"


def test_update_then_delete_change_and_remove_the_named_records(sf, env, unique):
    [inserted] = sf.bulk2.Account.insert(
        records=[{"Name": f"{unique} A"}, {"Name": f"{unique} B"}], wait=WAIT
    )
    ids = [row["sf__Id"] for row in rows(sf.bulk2.Account.get_successful_records(inserted["job_id"]))]
    [updated] = sf.bulk2.Account.update(
        records=[{"Id": ids[0], "Phone": "+33 1 23 45 67 89"}], wait=WAIT
    )
    assert (updated["numberRecordsProcessed"], updated["numberRecordsFailed"]) == (1, 0)
    assert stored(env, ids[0])["Phone"] == "+33 1 23 45 67 89"
    assert stored(env, ids[0])["Name"] == f"{unique} A"
    [deleted] = sf.bulk2.Account.delete(records=[{"Id": ids[1]}], wait=WAIT)
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (1, 0)
    assert stored(env, ids[1]) is None
    assert stored(env, ids[0]) is not None
    pages = list(
        sf.bulk2.Account.query_all(
            format_soql("SELECT Name, IsDeleted FROM Account WHERE Id = {}", ids[1]), wait=WAIT
        )
    )
    assert rows(pages[0]) == [{"Name": f"{unique} B", "IsDeleted": "true"}]


def test_query_pages_follow_the_locator_until_null(sf, unique):
    sf.bulk2.Account.insert(
        records=[{"Name": f"{unique} Q{i}", "Industry": "Media"} for i in range(5)], wait=WAIT
    )
    soql = format_soql(
        "SELECT Name, Industry FROM Account WHERE Name LIKE {} ORDER BY Name", f"{unique} Q%"
    )
    pages = list(sf.bulk2.Account.query(soql, max_records=2, wait=WAIT))
    assert [len(rows(page)) for page in pages] == [2, 2, 1]
    names = [row["Name"] for page in pages for row in rows(page)]
    assert names == [f"{unique} Q{i}" for i in range(5)]
    assert all(row["Industry"] == "Media" for page in pages for row in rows(page))


def test_download_writes_each_page_to_a_file(sf, unique, tmp_path):
    sf.bulk2.Account.insert(records=[{"Name": f"{unique} D{i}"} for i in range(3)], wait=WAIT)
    soql = format_soql("SELECT Name FROM Account WHERE Name LIKE {} ORDER BY Name", f"{unique} D%")
    results = sf.bulk2.Account.download(soql, path=str(tmp_path), max_records=2, wait=WAIT)
    assert [result["number_of_records"] for result in results] == [2, 1]


def test_an_unknown_column_fails_the_job_and_writes_nothing(sf, unique):
    with pytest.raises(SalesforceOperationError, match="Field name not found : Colour__c"):
        sf.bulk2.Account.insert(
            records=[{"Name": f"{unique} Never", "Colour__c": "red"}], wait=WAIT
        )
    counted = sf.query(format_soql("SELECT COUNT() FROM Account WHERE Name = {}", f"{unique} Never"))
    assert counted["totalSize"] == 0


def test_five_thousand_records_spend_fewer_calls_than_collections_would(sf, env, unique):
    before = control(env, "api-allocation").json()["used"]
    [result] = sf.bulk2.Account.insert(
        records=[{"Name": f"{unique} N{i}"} for i in range(5000)], wait=WAIT
    )
    spent = control(env, "api-allocation").json()["used"] - before
    assert result["numberRecordsProcessed"] == 5000
    # Job create, upload, close, the client's polls and its last job read, whatever the number
    # of records; sObject Collections would need one call per 200 records (25 for these).
    assert 4 <= spent < 25, spent
    counted = sf.query(format_soql("SELECT COUNT() FROM Account WHERE Name LIKE {}", f"{unique} N%"))
    assert counted["totalSize"] == 5000

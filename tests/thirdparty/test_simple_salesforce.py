"""simple-salesforce (unchanged) against the sandbox's Salesforce REST API over HTTPS."""

from datetime import datetime, timedelta, timezone

import pytest
from simple_salesforce import Salesforce, format_soql
from conftest import sandbox_session
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

# --- logins -------------------------------------------------------------------------------------


def seeded_accounts(sf_token):
    """SOQL for the seeded accounts: those the org's admin made, not the integration user
    (whose id ends the token's identity URL)."""
    integration_user = sf_token["id"].rsplit("/", 1)[1]
    return format_soql("SELECT Id, Name FROM Account WHERE CreatedById != {}", integration_user)


def test_a_client_credentials_token_from_requests_opens_a_direct_session(sf, env, sf_token):
    result = sf.query(seeded_accounts(sf_token))
    assert result["totalSize"] == int(env.seed_account_count)
    assert result["done"] is True
    assert sf.sf_instance == env.sandbox_sf_https_url.removeprefix("https://")


def test_password_login_with_a_connected_app_posts_to_the_login_host(env, sf_session, sf_token):
    sf = Salesforce(
        username=env.sf_username,
        password=env.sf_password,
        consumer_key=env.sf_client_id,
        consumer_secret=env.sf_client_secret,
        session=sf_session,
    )
    assert sf_session.login_route.requested == [
        "https://login.salesforce.com/services/oauth2/token"
    ]
    assert sf.sf_instance == env.sandbox_sf_https_url.removeprefix("https://")
    assert sf.query(seeded_accounts(sf_token))["totalSize"] == int(env.seed_account_count)


def test_client_credentials_login_on_a_my_domain_sends_basic_auth(env, sf_session):
    sf = Salesforce(
        consumer_key=env.sf_client_id,
        consumer_secret=env.sf_client_secret,
        domain="isthmus-sandbox.my",
        session=sf_session,
    )
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_jwt_bearer_login_with_the_connected_app_certificate(env, sf_session):
    sf = Salesforce(
        username=env.sf_username,
        consumer_key=env.sf_client_id,
        privatekey_file=env.sf_jwt_key_file,
        session=sf_session,
    )
    assert sf.auth_type == "jwt-bearer"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0


def test_jwt_bearer_login_to_the_test_login_host(env, sf_session):
    sf = Salesforce(
        username=env.sf_username,
        consumer_key=env.sf_client_id,
        privatekey_file=env.sf_jwt_key_file,
        domain="test",
        session=sf_session,
    )
    assert sf_session.login_route.requested == ["https://test.salesforce.com/services/oauth2/token"]
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_a_wrong_password_fails_authentication_with_invalid_grant(env, sf_session):
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(
            username=env.sf_username,
            password="not-the-password",
            consumer_key=env.sf_client_id,
            consumer_secret=env.sf_client_secret,
            session=sf_session,
        )
    assert failed.value.code == "invalid_grant"


def test_an_unknown_session_raises_expired_session(env, sf_token):
    sf = Salesforce(
        instance_url=sf_token["instance_url"],
        session_id=sf_token["access_token"][:15] + "!not-a-session",
        session=sandbox_session(env),
    )
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Account")
    assert expired.value.status == 401
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_revoked_session_is_refused_and_a_login_client_logs_in_again(
    env, sf_session, sf, sf_token
):
    logged_in = Salesforce(
        username=env.sf_username,
        password=env.sf_password,
        consumer_key=env.sf_client_id,
        consumer_secret=env.sf_client_secret,
        session=sf_session,
    )
    first_session = logged_in.session_id
    # Revoke the login client's token (GET /services/oauth2/revoke?token=, on the instance).
    sf.oauth2("revoke", {"token": first_session})
    assert logged_in.query(seeded_accounts(sf_token))["totalSize"] == int(env.seed_account_count)
    assert logged_in.session_id != first_session
    assert len(sf_session.login_route.requested) == 2

    direct = Salesforce(
        instance_url=env.sandbox_sf_https_url,
        session_id=first_session,
        session=sf_session,
    )
    with pytest.raises(SalesforceExpiredSession):
        direct.query("SELECT Id FROM Account")


# --- query, query_all, query_more ---------------------------------------------------------------


def test_query_finds_an_account_by_name_with_attributes(sf, env):
    soql = format_soql(
        "SELECT Id, Name, BillingCity, (SELECT LastName FROM Contacts) FROM Account WHERE Name = {}",
        env.seed_fresh_account_name,
    )
    result = sf.query(soql)
    assert result["totalSize"] == 1
    record = result["records"][0]
    assert record["Name"] == env.seed_fresh_account_name
    assert record["attributes"]["type"] == "Account"
    assert record["attributes"]["url"].endswith("/sobjects/Account/" + record["Id"])
    assert record["Contacts"]["totalSize"] == 3
    assert len(record["Contacts"]["records"]) == 3


def test_format_soql_escapes_a_quote_and_a_backslash(sf, env):
    soql = format_soql("SELECT Id, Name FROM Account WHERE Name = {}", env.seed_quoted_account_name)
    records = sf.query(soql)["records"]
    assert [r["Name"] for r in records] == [env.seed_quoted_account_name]


def test_query_all_returns_every_seeded_account(sf, env, sf_token):
    result = sf.query_all(seeded_accounts(sf_token))
    assert result["done"] is True
    assert result["totalSize"] == int(env.seed_account_count)
    assert len(result["records"]) == int(env.seed_account_count)


def _create_contacts(sf, last_name, count):
    """Creates `count` contacts through sObject Collections (200 a request)."""
    for start in range(0, count, 200):
        records = [
            {"attributes": {"type": "Contact"}, "LastName": last_name, "FirstName": f"N{n:03d}"}
            for n in range(start, min(start + 200, count))
        ]
        results = sf.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
        )
        assert all(r["success"] for r in results)


BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def test_query_more_pages_with_the_requested_batch_size(sf, unique):
    last_name = f"Paged{unique}"
    _create_contacts(sf, last_name, 450)
    soql = format_soql("SELECT Id, FirstName FROM Contact WHERE LastName = {}", last_name)

    first = sf.query(soql, headers=BATCH_200)
    assert first["totalSize"] == 450
    assert first["done"] is False
    assert len(first["records"]) == 200

    # The next page by URL, then by the locator alone, as simple-salesforce offers both.
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=BATCH_200)
    assert len(second["records"]) == 200 and second["done"] is False
    locator = second["nextRecordsUrl"].rsplit("/", 1)[1]
    third = sf.query_more(locator, headers=BATCH_200)
    assert len(third["records"]) == 50 and third["done"] is True

    everything = sf.query_all(soql, headers=BATCH_200)
    names = sorted(r["FirstName"] for r in everything["records"])
    assert names == [f"N{n:03d}" for n in range(450)]
    streamed = list(sf.query_all_iter(soql, headers=BATCH_200))
    assert len(streamed) == 450


def test_query_all_with_include_deleted_sees_a_deleted_record(sf, unique):
    name = f"Deleted {unique}"
    created = sf.Account.create({"Name": name})
    sf.Account.delete(created["id"])
    soql = format_soql("SELECT Id, IsDeleted FROM Account WHERE Name = {}", name)
    assert sf.query_all(soql)["totalSize"] == 0
    deleted = sf.query_all(soql, include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(created["id"], True)]


# --- sObject rows ---------------------------------------------------------------------------------


def test_create_get_update_delete_an_account(sf, unique):
    created = sf.Account.create({"Name": f"Create {unique}", "Industry": "Energy"})
    assert created["success"] is True and created["errors"] == []
    account_id = created["id"]
    assert len(account_id) == 18 and account_id.startswith("001")

    record = sf.Account.get(account_id)
    assert record["Name"] == f"Create {unique}"
    assert record["Industry"] == "Energy"
    assert record["attributes"]["type"] == "Account"

    assert sf.Account.update(account_id, {"Industry": "Media"}) == 204
    assert sf.Account.get(account_id, params={"fields": "Industry"})["Industry"] == "Media"
    # A 15-character id names the same record.
    assert sf.Account.get(account_id[:15])["Id"] == account_id

    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get(account_id)
    assert missing.value.status == 404


def test_upsert_by_external_id_creates_then_updates(sf, unique):
    external = f"ns-{unique}"
    assert sf.Account.upsert(f"NetSuite_Id__c/{external}", {"Name": f"Upsert {unique}"}) == 201
    assert sf.Account.upsert(f"NetSuite_Id__c/{external}", {"Phone": "+1 555 0100"}) == 200

    record = sf.Account.get_by_custom_id("NetSuite_Id__c", external)
    assert record["Name"] == f"Upsert {unique}"
    assert record["Phone"] == "+1 555 0100"

    raw = sf.Account.upsert(
        f"NetSuite_Id__c/{external}", {"Phone": "+1 555 0101"}, raw_response=True
    )
    assert raw.json() == {"id": record["Id"], "success": True, "errors": [], "created": False}


def test_upsert_before_api_46_answers_204_on_update(env, sf_token, unique):
    sf = Salesforce(
        instance_url=sf_token["instance_url"],
        session_id=sf_token["access_token"],
        session=sandbox_session(env),
        version="45.0",
    )
    external = f"old-{unique}"
    assert sf.Account.upsert(f"NetSuite_Id__c/{external}", {"Name": f"Old {unique}"}) == 201
    assert sf.Account.upsert(f"NetSuite_Id__c/{external}", {"Name": f"Older {unique}"}) == 204


def test_an_external_id_matching_two_records_raises_more_than_one_record(sf, unique):
    legacy = f"legacy-{unique}"
    for n in range(2):
        sf.Account.create({"Name": f"Twin {n} {unique}", "Legacy_Id__c": legacy})
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        sf.Account.upsert(f"Legacy_Id__c/{legacy}", {"Phone": "1"})
    assert several.value.status == 300
    assert len(several.value.content) == 2


def test_updated_and_deleted_list_changes_in_a_window(sf, unique):
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    kept = sf.Account.create({"Name": f"Window kept {unique}"})
    gone = sf.Account.create({"Name": f"Window gone {unique}"})
    sf.Account.delete(gone["id"])
    end = datetime.now(timezone.utc) + timedelta(minutes=1)

    assert kept["id"] in sf.Account.updated(start, end)["ids"]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert gone["id"] in [d["id"] for d in deleted]


# --- metadata and limits ----------------------------------------------------------------------------


def test_describe_global_lists_the_objects(sf):
    described = sf.describe()
    names = {o["name"] for o in described["sobjects"]}
    assert {"Account", "Contact", "Opportunity"} <= names


def test_describe_account_shows_the_external_id_field(sf):
    described = sf.Account.describe()
    assert described["name"] == "Account"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["NetSuite_Id__c"]["externalId"] is True
    assert fields["Id"]["type"] == "id"


def test_sobject_metadata_is_the_basic_information(sf):
    metadata = sf.Contact.metadata()
    assert metadata["objectDescribe"]["name"] == "Contact"
    assert "recentItems" in metadata


def test_limits_report_the_daily_api_requests(sf):
    limits = sf.limits()
    daily = limits["DailyApiRequests"]
    assert daily["Max"] > 0
    assert 0 <= daily["Remaining"] <= daily["Max"]
    # Every call reports usage in Sforce-Limit-Info, which simple-salesforce parses.
    assert sf.api_usage["api-usage"].total == daily["Max"]


# --- error mapping ----------------------------------------------------------------------------------


def test_malformed_soql_raises_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM")
    assert malformed.value.status == 400
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_an_unknown_field_raises_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.Account.create({"Name": "No such field", "Nonexistent__c": 1})
    assert malformed.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_an_unknown_object_raises_resource_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nonexistent__c.describe()


def test_a_missing_required_field_raises_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.Contact.create({"FirstName": "No last name"})
    assert malformed.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"

"""NetSuite REST web services with requests-oauthlib's OAuth1 (token-based authentication, HMAC-SHA256,
realm = account id), unchanged, over HTTPS and plain HTTP."""

import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1

from conftest import sandbox_session

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


def tba(env, signature_method=SIGNATURE_HMAC_SHA256, **overrides):
    credentials = {
        "client_key": env.ns_consumer_key,
        "client_secret": env.ns_consumer_secret,
        "resource_owner_key": env.ns_token_id,
        "resource_owner_secret": env.ns_token_secret,
        "realm": env.ns_account_id,
    }
    credentials.update(overrides)
    return OAuth1(signature_method=signature_method, **credentials)


class NetSuite:
    """A base URL and a session signing every request with TBA."""

    def __init__(self, env, base, auth):
        self.base = base
        self.http = sandbox_session(env)
        self.http.auth = auth

    def request(self, method, path, **kwargs):
        url = path if path.startswith("http") else self.base + path
        return self.http.request(method, url, timeout=10, **kwargs)

    def suiteql(self, query, url=None, **params):
        return self.request(
            "POST", url or SUITEQL, params=params, json={"q": query}, headers={"Prefer": "transient"}
        )


@pytest.fixture(params=["https", "http"])
def ns(request, env):
    base = env.sandbox_ns_https_url if request.param == "https" else env.sandbox_ns_http_url
    return NetSuite(env, base, tba(env))


def error_code(response):
    return response.json()["o:errorDetails"][0]["o:errorCode"]


def created_id(response, record_type):
    assert response.status_code == 204, response.text
    assert response.content == b""
    location = response.headers["Location"]
    prefix, _, record_id = location.rpartition("/")
    assert prefix.endswith(f"{RECORD}/{record_type}")
    return record_id


# --- the record API -------------------------------------------------------------------------------


def test_create_read_update_delete_a_customer(ns, unique):
    created = ns.request(
        "POST",
        f"{RECORD}/customer",
        json={
            "companyName": f"Krüger {unique}",
            "email": f"ap@{unique}.example",
            "subsidiary": {"id": "1"},
            "addressBook": {
                "items": [
                    {
                        "defaultBilling": True,
                        "addressBookAddress": {"addr1": "1 Main St", "city": "Springfield"},
                    }
                ]
            },
        },
    )
    customer_id = created_id(created, "customer")
    assert created.headers["Location"].startswith(ns.base)

    record = ns.request(
        "GET", f"{RECORD}/customer/{customer_id}", params={"expandSubResources": "true"}
    ).json()
    assert record["id"] == customer_id
    assert record["companyName"] == f"Krüger {unique}"
    assert record["subsidiary"]["id"] == "1"
    address = record["addressBook"]["items"][0]["addressBookAddress"]
    assert address["city"] == "Springfield"
    assert any(link["rel"] == "self" for link in record["links"])

    patched = ns.request("PATCH", f"{RECORD}/customer/{customer_id}", json={"phone": "555-0100"})
    assert patched.status_code == 204, patched.text
    only = ns.request(
        "GET", f"{RECORD}/customer/{customer_id}", params={"fields": "phone,companyName"}
    ).json()
    assert only["phone"] == "555-0100"
    assert "email" not in only

    assert ns.request("DELETE", f"{RECORD}/customer/{customer_id}").status_code == 204
    gone = ns.request("GET", f"{RECORD}/customer/{customer_id}")
    assert gone.status_code == 404
    assert error_code(gone) == "NONEXISTENT_ID"


def test_put_by_external_id_creates_then_updates_the_same_record(ns, unique):
    path = f"{RECORD}/customer/eid:sf-{unique}"
    first = ns.request("PUT", path, json={"companyName": f"Eid {unique}", "subsidiary": {"id": "1"}})
    customer_id = created_id(first, "customer")
    second = ns.request("PUT", path, json={"phone": "555-0199"})
    assert created_id(second, "customer") == customer_id

    record = ns.request("GET", path).json()
    assert record["id"] == customer_id
    assert record["externalId"] == f"sf-{unique}"
    assert record["companyName"] == f"Eid {unique}"
    assert record["phone"] == "555-0199"
    assert ns.request("DELETE", path).status_code == 204


def test_list_pages_through_customers_by_their_links(ns, env):
    page = ns.request("GET", f"{RECORD}/customer", params={"limit": 5}).json()
    ids = [item["id"] for item in page["items"]]
    while page["hasMore"]:
        next_url = next(link["href"] for link in page["links"] if link["rel"] == "next")
        page = ns.request("GET", next_url).json()
        ids += [item["id"] for item in page["items"]]
    assert len(ids) == len(set(ids)) == page["totalResults"]
    assert len(ids) >= int(env.seed_customer_count)


def test_list_filters_with_a_query(ns):
    page = ns.request("GET", f"{RECORD}/customer", params={"q": 'companyName START_WITH "Hoo"'})
    assert page.status_code == 200, page.text
    assert page.json()["count"] == 1


def test_an_unknown_record_type_is_refused(ns):
    response = ns.request("GET", f"{RECORD}/spaceship/1")
    assert response.status_code == 404


# --- SuiteQL ----------------------------------------------------------------------------------------


def test_suiteql_pages_with_limit_offset_and_next_links(ns, env):
    query = "SELECT id, companyname FROM customer WHERE id <= 100000 ORDER BY id"
    everything = ns.suiteql(query, limit=1000).json()
    assert everything["hasMore"] is False

    page = ns.suiteql(query, limit=5, offset=0)
    assert page.status_code == 200, page.text
    page = page.json()
    assert page["count"] == 5 and page["hasMore"] is True
    assert page["totalResults"] == everything["totalResults"] >= int(env.seed_customer_count)
    rows = list(page["items"])
    while page["hasMore"]:
        next_url = next(link["href"] for link in page["links"] if link["rel"] == "next")
        page = ns.suiteql(query, url=next_url).json()
        rows += page["items"]
    assert [r["id"] for r in rows] == [r["id"] for r in everything["items"]]
    assert all(set(r) >= {"id", "companyname", "links"} for r in rows)


def test_suiteql_escapes_a_quote_in_a_literal(ns):
    response = ns.suiteql("SELECT COUNT(*) AS n FROM customer WHERE companyname <> 'O''Brien'")
    assert response.status_code == 200, response.text
    assert int(response.json()["items"][0]["n"]) > 0


def test_suiteql_without_prefer_transient_is_refused(ns):
    response = ns.request("POST", SUITEQL, json={"q": "SELECT id FROM customer"})
    assert response.status_code == 400
    assert error_code(response) == "INVALID_PARAMETER"


def test_an_offset_that_is_not_a_multiple_of_the_limit_is_refused(ns):
    response = ns.suiteql("SELECT id FROM customer", limit=5, offset=3)
    assert response.status_code == 400


# --- authentication ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        {"resource_owner_secret": "wrong-token-secret"},
        {"client_secret": "wrong-consumer-secret"},
        {"realm": "7654321"},
        {"signature_method": SIGNATURE_HMAC_SHA1},
    ],
    ids=["token-secret", "consumer-secret", "realm", "hmac-sha1"],
)
def test_a_bad_signature_is_invalid_login(env, auth):
    ns = NetSuite(env, env.sandbox_ns_https_url, tba(env, **auth))
    response = ns.request("GET", f"{RECORD}/customer", params={"limit": 1})
    assert response.status_code == 401
    assert error_code(response) == "INVALID_LOGIN"


def test_a_signature_covers_query_parameters_with_reserved_characters(ns):
    response = ns.request(
        "GET",
        f"{RECORD}/customer",
        params={"q": 'companyName CONTAIN "Inc, Ltd & Co"', "limit": 2},
    )
    assert response.status_code == 200, response.text

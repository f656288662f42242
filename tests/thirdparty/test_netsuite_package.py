"""The `netsuite` package (jacobsvante; httpx, and Authlib's OAuth 1.0a signer rather than oauthlib's)
against the sandbox's REST web services and RESTlets.

The package builds `https://{account}.suitetalk.api.netsuite.com` (and `….restlets.api…`) from the
account id; its documented `hostname` property is set to the sandbox's instead, and httpx is told to
trust the sandbox certificate through `SSL_CERT_FILE`. Requests are otherwise the package's own: it
signs JSON bodies too (`oauth_body_hash`, SHA-1 as Authlib computes it, under HMAC-SHA256).
"""

import asyncio

import pytest
from netsuite import Config, NetSuiteRestApi, NetSuiteRestlet, TokenAuth
from netsuite.exceptions import NetsuiteAPIRequestError


@pytest.fixture
def config(env):
    return Config(
        account=env.ns_account_id,
        auth=TokenAuth(
            consumer_key=env.ns_consumer_key,
            consumer_secret=env.ns_consumer_secret,
            token_id=env.ns_token_id,
            token_secret=env.ns_token_secret,
        ),
    )


@pytest.fixture
def trust_sandbox(env, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", env.sandbox_ca_cert)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


def host_of(url):
    return url.removeprefix("https://")


@pytest.fixture
def rest(env, config, trust_sandbox):
    api = NetSuiteRestApi(config)
    api.hostname = host_of(env.sandbox_ns_https_url)
    return api


@pytest.fixture
def restlet(env, config, trust_sandbox):
    api = NetSuiteRestlet(config)
    api.hostname = host_of(env.sandbox_ns_https_url)
    return api


def run(coroutine):
    return asyncio.run(coroutine)


def test_create_get_patch_put_and_delete_a_customer(rest, unique):
    body = {"companyName": f"Package {unique}", "subsidiary": {"id": "1"}}
    response = run(rest.request("POST", "/record/v1/customer", json=body))
    assert response.status_code == 204, response.text
    customer_id = response.headers["Location"].rsplit("/", 1)[1]

    record = run(rest.get(f"/record/v1/customer/{customer_id}"))
    assert record["companyName"] == f"Package {unique}"

    assert run(rest.patch(f"/record/v1/customer/{customer_id}", json={"phone": "555-0142"})) is None
    assert run(rest.get(f"/record/v1/customer/{customer_id}"))["phone"] == "555-0142"

    eid = f"pkg-{unique}"
    assert run(rest.put(f"/record/v1/customer/eid:{eid}", json=body | {"email": "a@b.example"})) is None
    assert run(rest.get(f"/record/v1/customer/eid:{eid}"))["email"] == "a@b.example"

    assert run(rest.delete(f"/record/v1/customer/{customer_id}")) is None
    with pytest.raises(NetsuiteAPIRequestError) as missing:
        run(rest.get(f"/record/v1/customer/{customer_id}"))
    assert missing.value.status_code == 404


def test_suiteql_with_limit_and_offset(rest, env):
    query = "SELECT id, companyname FROM customer ORDER BY id"
    first = run(rest.suiteql(query, limit=5, offset=0))
    second = run(rest.suiteql(query, limit=5, offset=5))
    assert first["count"] == second["count"] == 5
    assert first["hasMore"] is True
    assert first["totalResults"] >= int(env.seed_customer_count)
    assert {r["id"] for r in first["items"]}.isdisjoint(r["id"] for r in second["items"])


def test_restlet_get_and_post(restlet, env):
    script, deploy = env.ns_echo_restlet_script, env.ns_echo_restlet_deploy
    got = run(restlet.get(script, deploy=deploy))
    assert got["method"] == "GET"
    posted = run(restlet.post(script, deploy=deploy, json={"customerId": "101"}))
    assert posted == {"method": "POST", "params": {}, "body": {"customerId": "101"}}

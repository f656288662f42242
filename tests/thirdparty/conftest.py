"""Fixtures for the third-party client suite.

The sandbox is started by `cargo test -p isthmus-tests --test thirdparty`, which passes its URLs,
certificate and credentials in environment variables. The clients are used as their documentation
says; the only thing the tests change is where the Salesforce login hosts resolve to (see
`LoginHostRoute`), since simple-salesforce hard-codes `https://{domain}.salesforce.com`.
"""

import os
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

REQUIRED = [
    "SANDBOX_SF_HTTPS_URL",
    "SANDBOX_NS_HTTPS_URL",
    "SANDBOX_NS_HTTP_URL",
    "SANDBOX_CA_CERT",
]


def pytest_configure(config):
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            "the third-party suite runs against a sandbox started by "
            "`cargo test -p isthmus-tests --test thirdparty`; missing: " + ", ".join(missing)
        )


class Env:
    """The sandbox's addresses, credentials and seed facts, from the environment."""

    def __getattr__(self, name):
        return os.environ[name.upper()]


@pytest.fixture(scope="session")
def env():
    return Env()


@pytest.fixture
def unique():
    """A short token to keep records made by one test apart from every other."""
    return uuid.uuid4().hex[:10]


class LoginHostRoute(HTTPAdapter):
    """Sends requests for a Salesforce login host to the sandbox instead, as a hosts-file entry
    would: path, query, headers and body are left exactly as the client made them."""

    def __init__(self, sandbox_url):
        super().__init__()
        self.sandbox_url = sandbox_url.rstrip("/")
        self.requested = []

    def send(self, request, **kwargs):
        _host, _, rest = request.url.partition("://")[2].partition("/")
        self.requested.append(request.url)
        request.url = f"{self.sandbox_url}/{rest}"
        return super().send(request, **kwargs)


LOGIN_HOSTS = [
    "https://login.salesforce.com/",
    "https://test.salesforce.com/",
    "https://isthmus-sandbox.my.salesforce.com/",
]


def sandbox_session(env):
    """A `requests.Session` that trusts the sandbox certificate. It ignores the environment
    (`trust_env`): requests lets `REQUESTS_CA_BUNDLE` override `Session.verify`, and a proxy
    setting must not catch loopback traffic."""
    session = requests.Session()
    session.trust_env = False
    session.verify = env.sandbox_ca_cert
    return session


@pytest.fixture
def sf_session(env):
    """A `sandbox_session` that reaches the sandbox for the Salesforce login hosts."""
    session = sandbox_session(env)
    route = LoginHostRoute(env.sandbox_sf_https_url)
    for host in LOGIN_HOSTS:
        session.mount(host, route)
    session.login_route = route
    return session


@pytest.fixture
def sf_token(env):
    """An access token from the OAuth 2.0 client credentials flow, with plain `requests`."""
    response = requests.post(
        f"{env.sandbox_sf_https_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": env.sf_client_id,
            "client_secret": env.sf_client_secret,
        },
        verify=env.sandbox_ca_cert,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def sf(env, sf_token):
    """simple-salesforce on the session from `sf_token` (direct session access)."""
    from simple_salesforce import Salesforce

    return Salesforce(
        instance_url=sf_token["instance_url"],
        session_id=sf_token["access_token"],
        session=sandbox_session(env),
    )

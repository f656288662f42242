#!/usr/bin/env python3
"""Checks docker-compose.yml against the app, as manifests.py checks the Kubernetes manifests:

- every part (customers, catalog, orders, finance, gateway) runs `serve <part>` from the image
  the sandbox runs too, and the sandbox listens beyond its container (`--bind 0.0.0.0`);
- every ISTHMUS_* variable is a config key the app accepts, with a value it would accept, or
  the environment variable of a secret;
- every URL to a part names a compose service that runs that part, on the port its `listen`
  default says; the Salesforce and NetSuite URLs name the sandbox's ports;
- the sandbox credentials are the sandbox's own (crates/sandbox/src/credentials.rs);
- every service admits gRPC callers by token (ISTHMUS_GRPC__TOKENS), and the gateway and the
  orders service present a token (ISTHMUS_GRPC__TOKEN) the services admit;
- the gateway has a NetSuite event signing secret (it does not start without one unless
  `gateway.netsuite_events_unsigned` is set).

Usage: compose.py ROOT. Exits 1 with one line per finding.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlparse

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from appfacts import PARTS, Facts  # noqa: E402

# Sandbox credential settings and the constant of crates/sandbox/src/credentials.rs each must equal.
CREDENTIALS = {
    "ISTHMUS_SALESFORCE__CLIENT_ID": "SF_CLIENT_ID",
    "ISTHMUS_SALESFORCE__CLIENT_SECRET": "SF_CLIENT_SECRET",
    "ISTHMUS_NETSUITE__ACCOUNT_ID": "NS_ACCOUNT_ID",
    "ISTHMUS_NETSUITE__CONSUMER_KEY": "NS_CONSUMER_KEY",
    "ISTHMUS_NETSUITE__CONSUMER_SECRET": "NS_CONSUMER_SECRET",
    "ISTHMUS_NETSUITE__TOKEN_ID": "NS_TOKEN_ID",
    "ISTHMUS_NETSUITE__TOKEN_SECRET": "NS_TOKEN_SECRET",
}
# The sandbox's default ports (`isthmus sandbox --help`).
SANDBOX_PORTS = {"ISTHMUS_SALESFORCE__LOGIN_URL": 8181, "ISTHMUS_NETSUITE__BASE_URL": 8282}


def main() -> int:
    root = sys.argv[1]
    facts = Facts(root)
    with open(os.path.join(root, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    with open(os.path.join(root, "crates/sandbox/src/credentials.rs"), encoding="utf-8") as f:
        constants = dict(re.findall(r'pub const (\w+): &str = "([^"]*)";', f.read()))
    services = compose["services"]
    findings: list[str] = []

    runs = {}  # compose service -> the part it serves
    for name, service in services.items():
        command = service.get("command") or []
        if command[:1] == ["serve"]:
            runs[name] = command[1]
    for part in PARTS:
        if part not in runs.values():
            findings.append(f"no service runs `serve {part}`")
    sandbox = services.get("sandbox", {})
    if sandbox.get("command", [])[:1] != ["sandbox"] or "0.0.0.0" not in sandbox.get("command", []):
        findings.append("the sandbox service must run `sandbox --bind 0.0.0.0`")
    images = {service.get("image") for name, service in services.items() if name in runs or name == "sandbox"}
    if len(images) != 1:
        findings.append(f"the parts and the sandbox must run one image, not {sorted(map(str, images))}")

    for name, service in services.items():
        if name not in runs:
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        for key, value in env.items():
            if not key.startswith("ISTHMUS_"):
                continue
            if key in facts.secret_env_names():
                continue
            error = facts.env_value_error(key, value)
            if error:
                findings.append(f"{name}: {error}")
            config_key = facts.env_to_key(key)
            if config_key and config_key.endswith("_url") and key not in SANDBOX_PORTS and value.startswith("http"):
                callee = config_key.rsplit(".", 1)[1][: -len("_url")]
                url = urlparse(value)
                target = runs.get(url.hostname)
                if target != callee:
                    findings.append(f"{name}: {key} names {url.hostname!r}, which does not run `serve {callee}`")
                else:
                    listen = facts.default(f"{callee}.listen")
                    if listen and url.port != int(listen.rsplit(":", 1)[1]):
                        findings.append(f"{name}: {key} port {url.port} is not {callee}'s listen port ({listen})")
        for key, port in SANDBOX_PORTS.items():
            url = urlparse(env.get(key, ""))
            if (url.hostname, url.port) != ("sandbox", port):
                findings.append(f"{name}: {key} must be http://sandbox:{port}")
        for key, constant in CREDENTIALS.items():
            if env.get(key) != constants.get(constant):
                findings.append(f"{name}: {key} is not the sandbox's {constant}")

    for name, part in runs.items():
        env = {k: str(v) for k, v in (services[name].get("environment") or {}).items()}
        admitted = [entry.strip().rsplit(":", 1)[-1] for entry in env.get("ISTHMUS_GRPC__TOKENS", "").split(",")]
        if part != "gateway" and not env.get("ISTHMUS_GRPC__TOKENS"):
            findings.append(f"{name}: no ISTHMUS_GRPC__TOKENS: the service would refuse to start")
        if part in ("gateway", "orders") and env.get("ISTHMUS_GRPC__TOKEN") not in admitted:
            findings.append(f"{name}: ISTHMUS_GRPC__TOKEN is not one the services admit")
        if part == "gateway" and not env.get("ISTHMUS_GATEWAY__NETSUITE_HMAC_SECRET") \
                and env.get("ISTHMUS_GATEWAY__NETSUITE_EVENTS_UNSIGNED") != "true":
            findings.append(f"{name}: no ISTHMUS_GATEWAY__NETSUITE_HMAC_SECRET: the gateway would refuse to start")

    for finding in findings:
        print(f"compose.py: {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

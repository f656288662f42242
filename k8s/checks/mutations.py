#!/usr/bin/env python3
"""Deliberate breakages, one per check, that .ci/k8s-check applies to a copy of the tree (outside
the repository) to prove each check can fail: a check that passes a broken copy is itself broken.

Usage: mutations.py count | describe N | apply ROOT N
Each mutation replaces one exact text, which must occur exactly once (so a mutation that no longer
applies fails loudly instead of testing nothing).
"""

from __future__ import annotations

import os
import sys

MUTATIONS = [
    ("yamllint: trailing spaces",
     "k8s/base/serviceaccount.yaml", "  name: isthmus\n", "  name: isthmus   \n"),
    ("schema: a misspelt securityContext field",
     "k8s/base/gateway.yaml", "            readOnlyRootFilesystem: true\n",
     "            readOnlyRootFileSystem: true\n"),
    ("kustomize: an overlay names a resource that does not exist",
     "k8s/overlays/prod/kustomization.yaml", "  - ingress.yaml\n", "  - ingress.yaml\n  - missing.yaml\n"),
    ("kustomize: a namePrefix renames the Services the config's URLs name",
     "k8s/overlays/dev/kustomization.yaml", "namespace: isthmus-dev\n",
     "namespace: isthmus-dev\nnamePrefix: dev-\n"),
    ("probes: the gateway's readiness asks /healthz",
     "k8s/base/gateway.yaml", "              path: /readyz\n", "              path: /healthz\n"),
    ("probes: a service's health names another service",
     "k8s/base/finance.yaml", "              service: isthmus.finance.v1.FinanceSync\n            periodSeconds: 10\n",
     "              service: isthmus.orders.v1.OrderSync\n            periodSeconds: 10\n"),
    ("network: the gateway can no longer reach the services",
     "k8s/base/networkpolicies.yaml", "                values: [gateway, customers, catalog, orders, finance]\n",
     "                values: [customers, catalog, orders, finance]\n"),
    ("network: the services are open to every namespace",
     "k8s/base/networkpolicies.yaml",
     "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: isthmus\n"
     "            matchExpressions:\n",
     "    - from:\n        - namespaceSelector: {}\n        - podSelector:\n            matchLabels:\n"
     "              app.kubernetes.io/name: isthmus\n            matchExpressions:\n"),
    ("network: labelled gRPC consumers of other namespaces are shut out",
     "k8s/base/networkpolicies.yaml", "        - namespaceSelector: {}\n          podSelector:\n",
     "        - podSelector:\n"),
    ("secrets: the gateway presents no gRPC token",
     "k8s/base/gateway.yaml", "                  key: gateway-token\n", "                  key: gateway-token-typo\n"),
    ("config: a URL to a port the Service does not have",
     "k8s/base/isthmus.toml", 'catalog_url = "http://catalog:50052"', 'catalog_url = "http://catalog:50059"'),
    ("config: a key the app does not know",
     "k8s/base/isthmus.toml", '[finance]\nlisten = "0.0.0.0:50054"\n',
     '[finance]\nlisten = "0.0.0.0:50054"\nlisten_port = 50054\n'),
    ("settings: a secret in a ConfigMap",
     "k8s/overlays/dev/settings.env", "ISTHMUS_NETSUITE__TOKEN_ID=dev-placeholder-access-token-id\n",
     "ISTHMUS_NETSUITE__TOKEN_ID=dev-placeholder-access-token-id\nISTHMUS_NETSUITE__TOKEN_SECRET=plain-text\n"),
    ("settings: a number that is not one",
     "k8s/overlays/prod/settings.env", "ISTHMUS_NETSUITE__CONCURRENCY_LIMIT=5\n",
     "ISTHMUS_NETSUITE__CONCURRENCY_LIMIT=five\n"),
    ("secrets: a part no longer offered a secret the app reads",
     "k8s/base/orders.yaml",
     "            - name: ISTHMUS_ALERTS__WEBHOOK_URL\n              valueFrom:\n                secretKeyRef:\n"
     "                  name: isthmus-credentials\n                  key: alerts-webhook-url\n"
     "                  optional: true\n", ""),
    ("secrets: the dev Redis URL names a scheme the client does not take",
     "k8s/overlays/dev/kustomization.yaml", "url=redis://:dev-redis-password@redis:6379",
     "url=redis+unix://:dev-redis-password@redis:6379"),
    ("secrets: the dev Redis URL names a port the Redis Service does not have",
     "k8s/overlays/dev/kustomization.yaml", "url=redis://:dev-redis-password@redis:6379",
     "url=redis://:dev-redis-password@redis:6380"),
    ("monitoring: an alert on a metric the app does not export",
     "k8s/monitoring/prometheusrule.yaml", "expr: max by (service, lane) (isthmus_queue_oldest_job_age_seconds) > 600",
     "expr: max by (service, lane) (isthmus_queue_oldest_job_age_secs) > 600"),
    ("monitoring: an alert that no longer fires where its unit test says",
     "k8s/monitoring/prometheusrule.yaml", "/ sum by (flow) (rate(isthmus_syncs_total{outcome!~\"queued|retried\"}[10m])) > 0.05",
     "/ sum by (flow) (rate(isthmus_syncs_total{outcome!~\"queued|retried\"}[10m])) > 0.5"),
    ("monitoring: a dashboard query that does not parse",
     "k8s/monitoring/isthmus-dashboard.json", '"expr": "max(isthmus_conflicts_parked)"',
     '"expr": "max(isthmus_conflicts_parked"'),
    ("compose: the gateway's orders URL names the catalog's port",
     "docker-compose.yml", "ISTHMUS_GATEWAY__ORDERS_URL: http://orders:50053",
     "ISTHMUS_GATEWAY__ORDERS_URL: http://orders:50052"),
    ("compose: a setting the app does not know",
     "docker-compose.yml", "    ISTHMUS_STORE__CONNECTION: compose\n",
     "    ISTHMUS_STORE__CONNECTION: compose\n    ISTHMUS_STORE__DATABASE: compose\n"),
    ("hardening: a part runs as root",
     "k8s/base/catalog.yaml", "        runAsUser: 65532\n", "        runAsUser: 0\n"),
    ("hadolint: an unpinned, uncleaned apt-get install",
     "Dockerfile", "WORKDIR /src\n", "WORKDIR /src\nRUN apt-get update && apt-get install -y protobuf-compiler\n"),
    ("Dockerfile: no USER",
     "Dockerfile", "USER 65532:65532\n", ""),
    ("Dockerfile: ADD from a URL",
     "Dockerfile", "WORKDIR /src\n", "WORKDIR /src\nADD https://example.com/tool.tar.gz /opt/\n"),
]


def apply(root: str, index: int) -> None:
    _, path, old, new = MUTATIONS[index]
    full = os.path.join(root, path)
    with open(full, encoding="utf-8") as f:
        text = f.read()
    if text.count(old) != 1:
        raise SystemExit(f"mutation {index} ({MUTATIONS[index][0]}): the text to replace occurs "
                         f"{text.count(old)} times in {path}, expected once: update mutations.py")
    with open(full, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def main(argv: list) -> int:
    if argv[1:2] == ["count"]:
        print(len(MUTATIONS))
    elif argv[1:2] == ["describe"] and len(argv) == 3:
        print(MUTATIONS[int(argv[2])][0])
    elif argv[1:2] == ["apply"] and len(argv) == 4:
        apply(argv[2], int(argv[3]))
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

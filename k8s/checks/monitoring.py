#!/usr/bin/env python3
"""Checks k8s/monitoring against the app and with promtool.

Usage: monitoring.py ROOT PROMTOOL

- The PrometheusRule's groups are written out as a plain rules file and checked with
  `promtool check rules`, then its unit tests (k8s/monitoring/tests/*.test.yaml) run with
  `promtool test rules`: every alert fires on the series it is for, and not on a quiet start.
- Every query of the Grafana dashboard is parsed by promtool too (as a recording rule).
- Every `isthmus_*` metric the rules or the dashboard name is one the app exports
  (crates/telemetry/src/metrics.rs); a histogram's `_bucket`, `_sum` and `_count` count as it.
- The ServiceMonitor scrapes ports the Services have (k8s/base/*.yaml).
Exits 1 with one line per finding.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

METRIC = re.compile(r"\bisthmus_[a-z_]+\b")


def exported_metrics(root: pathlib.Path) -> set[str]:
    source = (root / "crates/telemetry/src/metrics.rs").read_text()
    return set(re.findall(r'"(isthmus_[a-z_]+)"', source))


def named(expr: str, exported: set[str]) -> list[str]:
    """Metric names in `expr` the app does not export."""
    unknown = []
    for name in METRIC.findall(expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in exported and base not in exported:
            unknown.append(name)
    return unknown


def service_ports(root: pathlib.Path) -> set[str]:
    ports = set()
    for path in (root / "k8s/base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Service":
                ports.update(p["name"] for p in doc["spec"]["ports"])
    return ports


def promtool(tool: str, args: list[str], cwd: pathlib.Path) -> str | None:
    done = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        return f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return None


def main() -> int:
    root, tool = pathlib.Path(sys.argv[1]), sys.argv[2]
    monitoring = root / "k8s/monitoring"
    exported = exported_metrics(root)
    findings: list[str] = []

    rule = yaml.safe_load((monitoring / "prometheusrule.yaml").read_text())
    groups = rule["spec"]["groups"]
    for group in groups:
        for r in group["rules"]:
            for name in named(r["expr"], exported):
                findings.append(f"alert {r.get('alert')}: metric {name} is not exported by the app")

    dashboard = json.loads((monitoring / "isthmus-dashboard.json").read_text())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
            for name in named(target["expr"], exported):
                findings.append(f"dashboard panel {panel['title']!r}: metric {name} is not exported by the app")
        if panel["type"] != "row" and panel.get("datasource", {}).get("uid") != "${datasource}":
            findings.append(f"dashboard panel {panel['title']!r}: not on the ${{datasource}} variable")

    monitor = yaml.safe_load((monitoring / "servicemonitor.yaml").read_text())
    ports = service_ports(root)
    for endpoint in monitor["spec"]["endpoints"]:
        if endpoint["port"] not in ports:
            findings.append(f"ServiceMonitor scrapes port {endpoint['port']!r}, which no Service has")

    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        (work / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        dashboard_rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)
        ]}]}
        (work / "dashboard.yaml").write_text(yaml.safe_dump(dashboard_rules, sort_keys=False))
        for failed in (promtool(tool, ["check", "rules", "rules.yaml"], work),
                       promtool(tool, ["check", "rules", "dashboard.yaml"], work)):
            if failed:
                findings.append(failed)
        tests = sorted((monitoring / "tests").glob("*.test.yaml"))
        if not tests:
            findings.append("no promtool unit tests in k8s/monitoring/tests")
        for test in tests:
            shutil.copy(test, work / test.name)
            failed = promtool(tool, ["test", "rules", test.name], work)
            if failed:
                findings.append(failed)

    for finding in findings:
        print(f"monitoring.py: {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What the schema cannot see: checks a rendered overlay against the application and against
what the deployment promises (k8s/README.md). Run by .ci/k8s-check on every overlay.

Usage: manifests.py RENDERED.yaml   (prints each failure; exit 1 when there is one)

- every part runs the image as `serve <part>`, hardened (non-root, read-only root, no privilege
  escalation, no capabilities, RuntimeDefault seccomp, an emptyDir on /tmp), with requests and
  limits, probes on the right port (gRPC health of its service; the gateway's /healthz, /readyz),
  Prometheus annotations naming a port it declares, an autoscaler and a disruption budget;
- the config file parses and holds only keys the app knows (it refuses unknown ones), no
  secret, listen ports equal to the container ports, and service URLs that reach the right
  part through its Service;
- every ISTHMUS_ variable is a config key with a value of the right type, or a secret taken from
  a Secret (never a literal or a ConfigMap); every secret the app reads is offered to the parts
  that use it; generated Secrets hold the keys the pods ask for;
- the NetworkPolicies give the reachability k8s/README.md states (netpol.py evaluates them).
"""

from __future__ import annotations

import base64
import re
import sys
import tomllib
from urllib.parse import urlsplit

import yaml

import netpol
from appfacts import GRPC_SERVICES, PARTS, Facts

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
SERVICE_SECRETS = ("salesforce.client_secret", "salesforce.private_key", "netsuite.consumer_secret",
                   "netsuite.token_secret", "netsuite.private_key", "alerts.webhook_url", "grpc.tokens")
GATEWAY_SECRETS = ("gateway.api_keys", "gateway.netsuite_hmac_secret", "gateway.console_session_secret",
                   "grpc.token")
# The gRPC token a part presents when it calls a service: the gateway's (above) and the orders
# service's (to the customers service).
ORDERS_SECRETS = SERVICE_SECRETS + ("grpc.token",)


def part_secrets(part: str) -> tuple:
    return {"gateway": GATEWAY_SECRETS, "orders": ORDERS_SECRETS}.get(part, SERVICE_SECRETS)


class Report:
    def __init__(self):
        self.failures = []

    def check(self, ok: bool, message: str) -> bool:
        if not ok and message not in self.failures:
            self.failures.append(message)
        return ok


def quantity(value) -> float:
    """A Kubernetes quantity (100m, 1, 0.5, 128Mi, 1G) as a number."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    if not match or (match.group(2) and match.group(2) not in units):
        raise ValueError(f"bad quantity {text!r}")
    return float(match.group(1)) * units.get(match.group(2), 1)


def secret_values(obj: dict) -> dict:
    return {k: base64.b64decode("".join(v.split())).decode("utf-8")
            for k, v in (obj.get("data") or {}).items()}


class Rendered:
    def __init__(self, docs: list):
        self.docs = docs
        self.by_kind = {}
        for d in docs:
            self.by_kind.setdefault(d["kind"], []).append(d)

    def kind(self, kind: str) -> list:
        return self.by_kind.get(kind, [])

    def named(self, kind: str, name: str):
        found = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        return found[0] if len(found) == 1 else None

    def generated(self, kind: str, base_name: str):
        """A generated ConfigMap or Secret by its name before the hash suffix."""
        found = [d for d in self.kind(kind)
                 if re.fullmatch(re.escape(base_name) + r"(-[a-z0-9]{10})?", d["metadata"]["name"])]
        return found[0] if len(found) == 1 else None

    def workloads(self) -> list:
        return [d for k in WORKLOAD_KINDS for d in self.kind(k)]

    def mesh(self) -> dict:
        """The parts of Isthmus: component -> Deployment."""
        return {d["metadata"]["labels"].get("app.kubernetes.io/component"): d
                for d in self.kind("Deployment")
                if d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "isthmus"}


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"].get("labels") or {}


def check_hardening(r: Report, rendered: Rendered) -> None:
    for w in rendered.workloads():
        where = f"{w['kind']}/{w['metadata']['name']}"
        spec = w["spec"]["template"]["spec"]
        pod_sc = spec.get("securityContext") or {}
        r.check(pod_sc.get("runAsNonRoot") is True, f"{where}: pod securityContext.runAsNonRoot must be true")
        r.check(isinstance(pod_sc.get("runAsUser"), int) and pod_sc["runAsUser"] > 0,
                f"{where}: pod securityContext.runAsUser must be a non-zero uid")
        r.check((pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
                f"{where}: seccompProfile must be RuntimeDefault")
        r.check(spec.get("automountServiceAccountToken") is False,
                f"{where}: no service account token is needed; set automountServiceAccountToken: false")
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            r.check(sc.get("allowPrivilegeEscalation") is False, f"{cw}: allowPrivilegeEscalation must be false")
            r.check(sc.get("readOnlyRootFilesystem") is True, f"{cw}: readOnlyRootFilesystem must be true")
            r.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{cw}: capabilities must drop ALL")
            r.check(not (sc.get("capabilities") or {}).get("add"), f"{cw}: must add no capability")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    r.check(resource in (res.get(kind) or {}), f"{cw}: resources.{kind}.{resource} missing")
            for resource in ("cpu", "memory"):
                try:
                    if resource in (res.get("requests") or {}) and resource in (res.get("limits") or {}):
                        r.check(quantity(res["requests"][resource]) <= quantity(res["limits"][resource]),
                                f"{cw}: {resource} request above its limit")
                except ValueError as e:
                    r.check(False, f"{cw}: {e}")
            image = c.get("image", "")
            r.check(":" in image.rsplit("/", 1)[-1] or "@" in image, f"{cw}: image {image!r} has no tag or digest")
            r.check(not image.endswith(":latest"), f"{cw}: image {image!r} uses :latest")


def check_parts(r: Report, rendered: Rendered, facts: Facts) -> None:
    mesh = rendered.mesh()
    r.check(sorted(mesh) == sorted(PARTS), f"Isthmus Deployments are {sorted(mesh)}, expected {sorted(PARTS)}")
    images = set()
    for part, d in mesh.items():
        where = f"Deployment/{d['metadata']['name']}"
        r.check(d["metadata"]["name"] == part, f"{where}: named other than its component {part}")
        r.check("replicas" not in d["spec"], f"{where}: sets replicas; its HorizontalPodAutoscaler owns the count")
        spec = d["spec"]["template"]["spec"]
        containers = spec.get("containers", [])
        if not r.check(len(containers) == 1, f"{where}: expected one container"):
            continue
        c = containers[0]
        images.add(c.get("image"))
        r.check(c.get("args") == ["serve", part] and "command" not in c,
                f"{where}: must run the image's entrypoint with args [serve, {part}]")
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        r.check("emptyDir" in volumes.get(mounts.get("/tmp"), {}), f"{where}: /tmp must be an emptyDir mount")
        check_probes(r, where, part, c, ports)
        annotations = d["spec"]["template"]["metadata"].get("annotations") or {}
        r.check(annotations.get("prometheus.io/scrape") == "true", f"{where}: prometheus.io/scrape must be \"true\"")
        r.check(annotations.get("prometheus.io/path") == "/metrics", f"{where}: prometheus.io/path must be /metrics")
        expected_metrics = ports.get("http") if part == "gateway" else ports.get("metrics")
        r.check(expected_metrics is not None and annotations.get("prometheus.io/port") == str(expected_metrics),
                f"{where}: prometheus.io/port must be the {'http' if part == 'gateway' else 'metrics'} port")
        check_config_mount(r, rendered, facts, where, part, c, mounts, volumes, ports)
        check_env(r, rendered, facts, where, part, c)
        check_scaling(r, rendered, where, d)
    r.check(len(images) <= 1, f"the parts run different images {sorted(images)}: one image serves every part")


def check_probes(r: Report, where: str, part: str, c: dict, ports: dict) -> None:
    kinds = ("startupProbe", "readinessProbe", "livenessProbe")
    if part == "gateway":
        r.check("http" in ports, f"{where}: needs a container port named http")
        paths = {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
        for kind in kinds:
            get = (c.get(kind) or {}).get("httpGet") or {}
            r.check(get.get("path") == paths[kind] and get.get("port") in ("http", ports.get("http")),
                    f"{where}: {kind} must GET {paths[kind]} on the http port")
        return
    r.check("grpc" in ports, f"{where}: needs a container port named grpc")
    for kind in kinds:
        grpc = (c.get(kind) or {}).get("grpc") or {}
        r.check(grpc.get("port") == ports.get("grpc") and grpc.get("service") == GRPC_SERVICES[part],
                f"{where}: {kind} must be gRPC health of {GRPC_SERVICES[part]} on port {ports.get('grpc')}")


def check_config_mount(r, rendered, facts, where, part, c, mounts, volumes, ports) -> None:
    env = {e["name"]: e for e in c.get("env", [])}
    path = (env.get("ISTHMUS_CONFIG") or {}).get("value", "")
    if not r.check(path.startswith("/"), f"{where}: ISTHMUS_CONFIG must name the mounted config file"):
        return
    directory, _, filename = path.rpartition("/")
    volume = volumes.get(mounts.get(directory), {})
    cm_name = (volume.get("configMap") or {}).get("name")
    cm = rendered.named("ConfigMap", cm_name) if cm_name else None
    if not r.check(cm is not None and filename in (cm.get("data") or {}),
                   f"{where}: {path} is not a key of a ConfigMap mounted at {directory}"):
        return
    try:
        config = tomllib.loads(cm["data"][filename])
    except tomllib.TOMLDecodeError as e:
        r.check(False, f"ConfigMap/{cm_name} {filename}: {e}")
        return
    check_config_keys(r, facts, f"ConfigMap/{cm_name} {filename}", config, "")
    listen = ((config.get(part) or {}).get("listen")) or facts.default(f"{part}.listen")
    port = int(listen.rsplit(":", 1)[1])
    expected = ports.get("http" if part == "gateway" else "grpc")
    r.check(port == expected, f"{where}: {part}.listen {listen} but the container port is {expected}")
    urls = {"orders": {"customers_url": "customers"},
            "gateway": {f"{p}_url": p for p in GRPC_SERVICES}}.get(part, {})
    for key, callee in urls.items():
        url = (config.get(part) or {}).get(key) or facts.default(f"{part}.{key}")
        check_url_reaches(r, rendered, f"{part}.{key} = {url}", url, callee)


def check_config_keys(r: Report, facts: Facts, where: str, table: dict, prefix: str) -> None:
    secret_keys = {f"{s}.{k}" for s, k in facts.secret_keys}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        r.check(dotted not in secret_keys, f"{where}: {dotted} is a secret; the app refuses it in the file")
        if isinstance(value, dict) and not facts.is_config_key(dotted):
            check_config_keys(r, facts, where, value, dotted + ".")
        else:
            r.check(facts.is_config_key(dotted), f"{where}: {dotted} is not a config key (the app refuses it)")


def check_url_reaches(r: Report, rendered: Rendered, what: str, url: str, callee: str) -> None:
    parts = urlsplit(url)
    service = rendered.named("Service", parts.hostname or "")
    if not r.check(parts.scheme == "http" and service is not None,
                   f"{what}: must be http://<Service>:<port> of a Service in the namespace"):
        return
    selector = {"matchLabels": service["spec"].get("selector") or {}}
    selected = [d["metadata"]["name"] for d in rendered.workloads()
                if netpol.selector_matches(selector, pod_labels(d))]
    r.check(selected == [callee], f"{what}: Service/{service['metadata']['name']} selects {selected}, not {callee}")
    port = [p for p in service["spec"]["ports"] if p["port"] == parts.port]
    r.check(len(port) == 1 and port[0].get("name") == "grpc" and port[0].get("appProtocol") == "grpc",
            f"{what}: Service/{service['metadata']['name']} has no grpc port {parts.port} (appProtocol grpc)")


def check_env(r: Report, rendered: Rendered, facts: Facts, where: str, part: str, c: dict) -> None:
    secret_envs = facts.secret_env_names()
    offered = set()
    for e in c.get("env", []):
        name = e["name"]
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if name in secret_envs or name == "ISTHMUS_STORE__REDIS_URL":
            if r.check(ref is not None, f"{where}: {name} must come from a Secret (secretKeyRef)"):
                offered.add(name)
        elif name != "ISTHMUS_CONFIG" and name.startswith("ISTHMUS_"):
            if "value" in e:
                error = facts.env_value_error(name, e["value"])
                r.check(error is None, f"{where}: {error}")
            else:
                key = facts.env_to_key(name)
                r.check(key is not None and facts.is_config_key(key), f"{where}: {name} is not a config key")
    for source in c.get("envFrom", []):
        r.check("prefix" not in source, f"{where}: envFrom prefix is not expected")
        if "secretRef" in source:
            r.check(False, f"{where}: envFrom secretRef hides which secrets a part reads; use secretKeyRef")
            continue
        cm = rendered.named("ConfigMap", source["configMapRef"]["name"])
        if not r.check(cm is not None, f"{where}: ConfigMap {source['configMapRef']['name']} is not rendered"):
            continue
        for name, value in (cm.get("data") or {}).items():
            cw = f"ConfigMap/{cm['metadata']['name']}"
            r.check(name not in secret_envs and name != "ISTHMUS_STORE__REDIS_URL",
                    f"{cw}: {name} is a secret and must come from a Secret")
            r.check(name != "ISTHMUS_CONFIG", f"{cw}: ISTHMUS_CONFIG belongs to the Deployment")
            if name.startswith("ISTHMUS_") and name not in secret_envs and name != "ISTHMUS_CONFIG":
                error = facts.env_value_error(name, value)
                r.check(error is None, f"{cw}: {error}")
    needed = {"ISTHMUS_STORE__REDIS_URL"} | {
        f"ISTHMUS_{k.split('.')[0].upper()}__{k.split('.')[1].upper()}"
        for k in part_secrets(part)}
    for name in sorted(needed - offered):
        r.check(False, f"{where}: does not offer the secret {name} (secretKeyRef)")
    for name in sorted(offered - needed):
        r.check(False, f"{where}: is given {name}, which {part} does not use")


def check_secret_coverage(r: Report, facts: Facts) -> None:
    """SERVICE_SECRETS and GATEWAY_SECRETS together are exactly the app's secrets."""
    ours = {f"ISTHMUS_{k.split('.')[0].upper()}__{k.split('.')[1].upper()}"
            for k in SERVICE_SECRETS + GATEWAY_SECRETS}
    theirs = set(facts.secret_env_names())
    r.check(ours == theirs, f"the app's secrets are {sorted(theirs)}, the checks know {sorted(ours)}: "
                            "offer each new one to the parts that read it")


def check_secret_refs(r: Report, rendered: Rendered) -> None:
    """When an overlay generates its Secrets (dev), every reference resolves to a rendered Secret
    holding the key (or is optional); when it renders none (prod: the administrator creates
    them), there is nothing to resolve against."""
    if not rendered.kind("Secret"):
        return
    for w in rendered.workloads():
        for c in w["spec"]["template"]["spec"].get("containers", []):
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref is None:
                    continue
                where = f"{w['kind']}/{w['metadata']['name']} {e['name']}"
                secret = rendered.named("Secret", ref["name"])
                if secret is None:
                    r.check(ref.get("optional") is True, f"{where}: Secret {ref['name']} is not rendered")
                elif ref["key"] not in secret_values(secret):
                    r.check(ref.get("optional") is True, f"{where}: Secret/{ref['name']} has no key {ref['key']}")


def check_ingress(r: Report, rendered: Rendered) -> None:
    for ing in rendered.kind("Ingress"):
        for rule in ing["spec"].get("rules", []):
            for path in (rule.get("http") or {}).get("paths", []):
                backend = path["backend"]["service"]
                service = rendered.named("Service", backend["name"])
                where = f"Ingress/{ing['metadata']['name']}"
                if not r.check(service is not None, f"{where}: no Service {backend['name']}"):
                    continue
                r.check(any(p.get("name") == backend["port"].get("name") or p["port"] == backend["port"].get("number")
                            for p in service["spec"]["ports"]),
                        f"{where}: Service/{backend['name']} has no port {backend['port']}")
                r.check(service["spec"].get("selector", {}).get("app.kubernetes.io/component") == "gateway",
                        f"{where}: only the gateway is exposed, not {backend['name']}")


def check_scaling(r: Report, rendered: Rendered, where: str, d: dict) -> None:
    name = d["metadata"]["name"]
    hpas = [h for h in rendered.kind("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
    if r.check(len(hpas) == 1, f"{where}: needs exactly one HorizontalPodAutoscaler"):
        spec = hpas[0]["spec"]
        r.check(1 <= spec.get("minReplicas", 1) <= spec["maxReplicas"], f"{where}: HPA bounds out of order")
    pdbs = [p for p in rendered.kind("PodDisruptionBudget")
            if netpol.selector_matches(p["spec"].get("selector") or {}, pod_labels(d))]
    r.check(len(pdbs) == 1, f"{where}: needs exactly one PodDisruptionBudget selecting its pods")
    if pdbs and hpas:
        min_available = pdbs[0]["spec"].get("minAvailable")
        r.check(not isinstance(min_available, int) or min_available < hpas[0]["spec"].get("minReplicas", 1),
                f"{where}: PDB minAvailable {min_available} blocks every drain at the HPA's minimum")


def check_services(r: Report, rendered: Rendered) -> None:
    for s in rendered.kind("Service"):
        where = f"Service/{s['metadata']['name']}"
        selected = [d for d in rendered.workloads()
                    if netpol.selector_matches({"matchLabels": s["spec"].get("selector") or {}}, pod_labels(d))]
        if not r.check(len(selected) == 1, f"{where}: selects {len(selected)} workloads, expected 1"):
            continue
        container_ports = {p.get("name"): p["containerPort"]
                           for c in selected[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in s["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            r.check(target in container_ports or target in container_ports.values(),
                    f"{where}: targetPort {target} is not a port of {selected[0]['metadata']['name']}")
            if port.get("name") == "grpc":
                r.check(port.get("appProtocol") == "grpc", f"{where}: the grpc port needs appProtocol grpc")


def check_namespace(r: Report, rendered: Rendered) -> None:
    namespaces = rendered.kind("Namespace")
    if not r.check(len(namespaces) == 1, "an overlay renders exactly one Namespace"):
        return
    ns = namespaces[0]
    name = ns["metadata"]["name"]
    r.check((ns["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") == "restricted",
            f"Namespace/{name}: must enforce the restricted Pod Security Standard")
    for d in rendered.docs:
        if d["kind"] != "Namespace":
            r.check(d["metadata"].get("namespace") == name, f"{d['kind']}/{d['metadata']['name']}: not in {name}")


def check_redis_url(r: Report, rendered: Rendered, facts: Facts) -> None:
    secret = rendered.generated("Secret", "isthmus-redis")
    if secret is None:
        return
    values = secret_values(secret)
    url = urlsplit(values.get("url", ""))
    schemes = facts.redis_schemes
    r.check(url.scheme in schemes,
            f"Secret/isthmus-redis url: scheme {url.scheme!r}; the app's Redis client takes {' or '.join(schemes)}://")
    if url.hostname and "." not in url.hostname:
        service = rendered.named("Service", url.hostname)
        r.check(service is not None and any(p["port"] == (url.port or 6379) for p in service["spec"]["ports"]),
                f"Secret/isthmus-redis url: no Service {url.hostname} with port {url.port or 6379}")
    if "password" in values:
        r.check(url.password == values["password"], "Secret/isthmus-redis: url and password disagree")


def check_api_keys(r: Report, rendered: Rendered) -> None:
    secret = rendered.generated("Secret", "isthmus-gateway-keys")
    if secret is None:
        return
    spec = secret_values(secret).get("api-keys", "")
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    r.check(bool(entries), "Secret/isthmus-gateway-keys: api-keys is empty")
    for n, entry in enumerate(entries, 1):
        parts = entry.split(":", 2)
        ok = (len(parts) == 3 and parts[0]
              and all(s in ("salesforce", "netsuite", "admin") for s in parts[1].split("+"))
              and len(parts[2]) >= 24)
        r.check(ok, f"Secret/isthmus-gateway-keys: entry {n} is not name:scope+scope:key (key of 24+ characters)")


def check_network(r: Report, rendered: Rendered) -> None:
    policies = rendered.kind("NetworkPolicy")
    namespace = (rendered.kind("Namespace") or [{"metadata": {"name": ""}}])[0]["metadata"]["name"]
    mesh = rendered.mesh()

    def target(workload: dict) -> netpol.Target:
        ports = [p for c in workload["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
        return netpol.Target(workload["metadata"]["name"], namespace, pod_labels(workload), ports)

    def source(workload: dict) -> netpol.Source:
        return netpol.Source(workload["metadata"]["name"], namespace, pod_labels(workload))

    outside = netpol.Source("outside the cluster")
    consumer = netpol.Source("a labelled gRPC client of another namespace", "elsewhere",
                             {"isthmus.dev/grpc-client": "true"})
    other_ns = netpol.Source("a pod of another namespace", "elsewhere", {"app": "other"})
    monitoring = netpol.Source("Prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
    stray = netpol.Source("a stray pod of the namespace", namespace, {"app": "stray"})

    def expect(src: netpol.Source, dst: dict, port, want: bool) -> None:
        t = target(dst)
        try:
            got = netpol.allowed(policies, src, t, port)
        except ValueError as e:
            r.check(False, f"NetworkPolicy: {e}")
            return
        r.check(got == want, f"NetworkPolicy: {src.name} {'must' if want else 'must not'} reach {t.name}:{port}")

    for w in rendered.workloads():
        r.check(netpol.isolated(policies, target(w)),
                f"NetworkPolicy: {w['metadata']['name']} accepts any connection (no default deny)")
    if "gateway" in mesh:
        for src in (outside, other_ns, stray):
            expect(src, mesh["gateway"], "http", True)
    for part in GRPC_SERVICES:
        if part not in mesh:
            continue
        for src in (outside, other_ns, stray, monitoring):
            expect(src, mesh[part], "grpc", False)
        if "gateway" in mesh:
            expect(source(mesh["gateway"]), mesh[part], "grpc", True)
        expect(monitoring, mesh[part], "metrics", True)
        expect(consumer, mesh[part], "grpc", True)
        expect(consumer, mesh[part], "metrics", False)
        expect(other_ns, mesh[part], "metrics", False)
    if "orders" in mesh and "customers" in mesh:
        expect(source(mesh["orders"]), mesh["customers"], "grpc", True)
    for redis in [w for w in rendered.workloads() if pod_labels(w).get("app.kubernetes.io/name") == "redis"]:
        for part in mesh.values():
            expect(source(part), redis, 6379, True)
        for src in (outside, other_ns, stray, monitoring):
            expect(src, redis, 6379, False)


def main(argv: list) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    rendered = Rendered(docs)
    facts = Facts()
    report = Report()
    check_secret_coverage(report, facts)
    check_hardening(report, rendered)
    check_parts(report, rendered, facts)
    check_services(report, rendered)
    check_secret_refs(report, rendered)
    check_ingress(report, rendered)
    check_namespace(report, rendered)
    check_redis_url(report, rendered, facts)
    check_api_keys(report, rendered)
    check_network(report, rendered)
    for failure in report.failures:
        print(f"{argv[1]}: {failure}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Who may open a connection to whom under a namespace's NetworkPolicies (ingress only), evaluated
as the NetworkPolicy API defines it, so the checks can state the intended reachability as facts:
"the outside reaches the gateway's http port", "a stray pod does not reach a service".

A pod selected by no Ingress policy accepts everything; a selected pod accepts a connection when
one of the policies selecting it has a rule whose `from` (none: anyone) matches the source and
whose `ports` (none: all) match the port. Peers: podSelector (this namespace), namespaceSelector,
or both (pods matching in matching namespaces). ipBlock and endPort are refused (unused here).
"""

from __future__ import annotations


class Source:
    """Where a connection comes from: a pod (namespace, its labels, the pod's labels) or, with
    pod_labels None, something outside the cluster."""

    def __init__(self, name: str, namespace: str | None = None, pod_labels: dict | None = None):
        self.name = name
        self.namespace = namespace
        self.pod_labels = pod_labels
        self.ns_labels = {"kubernetes.io/metadata.name": namespace} if namespace else {}


class Target:
    def __init__(self, name: str, namespace: str, labels: dict, ports: list):
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.ports = ports  # container ports: {"name", "containerPort", "protocol"}

    def port_number(self, port) -> int:
        if isinstance(port, int):
            return port
        for p in self.ports:
            if p.get("name") == port:
                return p["containerPort"]
        raise ValueError(f"{self.name} has no port named {port}")


def selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op}")
    return True


def peer_matches(peer: dict, policy_ns: str, source: Source) -> bool:
    if "ipBlock" in peer:
        raise ValueError("ipBlock peers are not evaluated by this check")
    if source.pod_labels is None:
        return False  # podSelector and namespaceSelector only ever match pods in the cluster
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], source.ns_labels):
            return False
    elif source.namespace != policy_ns:
        return False
    if "podSelector" in peer:
        return selector_matches(peer["podSelector"], source.pod_labels)
    return True


def port_matches(rule_ports: list | None, target: Target, number: int) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if "endPort" in p:
            raise ValueError("endPort is not evaluated by this check")
        if p.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in p:
            return True
        try:
            if target.port_number(p["port"]) == number:
                return True
        except ValueError:
            continue  # a named port the target does not have selects nothing on it
    return False


def ingress_policies(policies: list, target: Target) -> list:
    return [
        p for p in policies
        if p["metadata"].get("namespace", "") == target.namespace
        and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
        and selector_matches(p["spec"].get("podSelector") or {}, target.labels)
    ]


def isolated(policies: list, target: Target) -> bool:
    return bool(ingress_policies(policies, target))


def allowed(policies: list, source: Source, target: Target, port) -> bool:
    number = target.port_number(port)
    selecting = ingress_policies(policies, target)
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if peers and not any(peer_matches(peer, target.namespace, source) for peer in peers):
                continue
            if port_matches(rule.get("ports"), target, number):
                return True
    return False

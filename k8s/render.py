#!/usr/bin/env python3
"""Renders a kustomization directory the way `kubectl kustomize` (kustomize v5) does, for exactly
the kustomize features k8s/ uses, and refuses everything else.

Why: CI has no kustomize binary and no network beyond the package registries, so the overlays are
rendered here and the output is validated. `.ci/k8s-check` also renders with `kubectl kustomize`
when a kubectl is on PATH and fails on any difference, so this stays a faithful subset.

Supported (anything else in a kustomization is an error):
- `resources`: YAML files and directories holding a kustomization;
- `namespace`: set on every namespaced object; a Namespace object takes the name;
- `labels`: `pairs` added to every object's labels and, with `includeTemplates`, to pod templates
  (`includeSelectors` is refused: selectors are immutable and written out in full by hand);
- `configMapGenerator` / `secretGenerator`: `name`, `behavior` (create, merge, replace), `files`,
  `literals`, `envs`, and `type` for Secrets; the content-hash name suffix, computed as kustomize
  computes it, and every reference to a generated object rewritten to the suffixed name;
- `patches`: strategic merge patches (from `path` or inline `patch`), either naming their target
  by kind and name or applied to every object a `target` (kind, name, labelSelector) selects;
- `images`: `name` with `newName`, `newTag` or `digest`.

Usage: render.py DIR  (writes the YAML stream to stdout; exits 1 with a message on any error)
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import sys

import yaml


class RenderError(Exception):
    pass


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "namespace", "labels", "resources", "configMapGenerator",
    "secretGenerator", "patches", "images",
}
GENERATOR_FIELDS = {"name", "behavior", "files", "literals", "envs"}
SECRET_GENERATOR_FIELDS = GENERATOR_FIELDS | {"type"}
LABEL_FIELDS = {"pairs", "includeSelectors", "includeTemplates"}
PATCH_FIELDS = {"path", "patch", "target"}
TARGET_FIELDS = {"kind", "name", "labelSelector"}
IMAGE_FIELDS = {"name", "newName", "newTag", "digest"}

# Kinds that live outside namespaces (the ones a namespace must not be set on).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
}

# Where each workload kind keeps its pod template, and (for templateLabels) its template metadata.
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# kustomize's legacy output order.
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

# Strategic merge: the key that identifies an item of these lists (others are replaced whole).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
}

# Marks an object made by a generator whose name gets the content-hash suffix.
GENERATED = "__generated__"


def fail(message: str) -> None:
    raise RenderError(message)


def check_fields(what: str, value: dict, allowed: set) -> None:
    if not isinstance(value, dict):
        fail(f"{what}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        fail(f"{what}: unsupported field(s) {', '.join(unknown)} (render.py supports {', '.join(sorted(allowed))})")


def load_yaml_docs(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path}: invalid YAML: {e}")
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    for d in docs:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
            fail(f"{path}: every document needs apiVersion and kind")
        if not isinstance(d.get("metadata"), dict) or not d["metadata"].get("name"):
            fail(f"{path}: {d.get('kind')} without metadata.name")
    return docs


def res_id(obj: dict) -> tuple:
    meta = obj["metadata"]
    return (obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else "", obj["kind"],
            meta.get("namespace", ""), meta["name"])


def describe(obj: dict) -> str:
    ns = obj["metadata"].get("namespace")
    return f"{obj['kind']}/{obj['metadata']['name']}" + (f" in {ns}" if ns else "")


def kustomization_path(directory: str) -> str:
    found = [f for f in KUSTOMIZATION_FILES if os.path.isfile(os.path.join(directory, f))]
    if len(found) != 1:
        fail(f"{directory}: expected exactly one of {', '.join(KUSTOMIZATION_FILES)}, found {len(found)}")
    return os.path.join(directory, found[0])


def relative(base: str, path: str) -> str:
    if os.path.isabs(path):
        fail(f"{path}: paths in a kustomization must be relative")
    return os.path.normpath(os.path.join(base, path))


# ---------------------------------------------------------------------------------------------
# Generators


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 (binaryData is not supported)")


def env_file_pairs(path: str) -> list:
    """KEY=VALUE lines, as kustomize reads them: leading blanks trimmed, blank and # lines
    skipped, the value kept verbatim. A line without `=` (kustomize would read the value from
    the environment of whoever renders) is refused."""
    pairs = []
    text = read_text(path)
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, line in enumerate(text.splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            fail(f"{path}:{number}: expected KEY=VALUE")
        key, value = line.split("=", 1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            fail(f"{path}:{number}: {key!r} is not a valid variable name")
        pairs.append((key, value, f"{path}:{number}"))
    return pairs


def generator_data(base: str, gen: dict, what: str) -> dict:
    data = {}

    def put(key: str, value: str, where: str) -> None:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            fail(f"{where}: {key!r} is not a valid ConfigMap/Secret key")
        if key in data:
            fail(f"{where}: key {key!r} given twice in {what}")
        data[key] = value

    for entry in gen.get("files", []) or []:
        if not isinstance(entry, str):
            fail(f"{what}: files entries are strings")
        key, _, path = entry.rpartition("=")
        path = relative(base, path)
        put(key or os.path.basename(path), read_text(path), f"{what} files {entry}")
    for entry in gen.get("literals", []) or []:
        if not isinstance(entry, str) or "=" not in entry:
            fail(f"{what}: literal {entry!r} is not key=value")
        key, value = entry.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            fail(f"{what}: literal {key}: quoted values are not supported")
        put(key, value, f"{what} literal {key}")
    for entry in gen.get("envs", []) or []:
        for key, value, where in env_file_pairs(relative(base, entry)):
            put(key, value, where)
    return data


def generate(base: str, kustomization: dict, resources: list) -> list:
    """Applies the generators of one kustomization to `resources` (which it extends or changes)."""
    for field, kind, allowed in (
        ("configMapGenerator", "ConfigMap", GENERATOR_FIELDS),
        ("secretGenerator", "Secret", SECRET_GENERATOR_FIELDS),
    ):
        for gen in kustomization.get(field, []) or []:
            what = f"{base}: {field} {gen.get('name') if isinstance(gen, dict) else gen!r}"
            check_fields(what, gen, allowed)
            name = gen.get("name")
            if not name:
                fail(f"{what}: needs a name")
            behavior = gen.get("behavior", "create")
            data = generator_data(base, gen, what)
            existing = [r for r in resources
                        if r["kind"] == kind and r["metadata"]["name"] == name and r.get(GENERATED)]
            if behavior == "create":
                if existing:
                    fail(f"{what}: {kind} {name} already exists (use behavior: merge or replace)")
                obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
                if kind == "Secret":
                    obj["type"] = gen.get("type", "Opaque")
                obj["data"] = data
                obj[GENERATED] = True
                resources.append(obj)
            elif behavior in ("merge", "replace"):
                if len(existing) != 1:
                    fail(f"{what}: behavior {behavior} needs exactly one {kind} {name} from a base")
                if "type" in gen and gen["type"] != existing[0].get("type"):
                    fail(f"{what}: cannot change the type of {kind} {name}")
                if behavior == "merge":
                    existing[0]["data"].update(data)
                else:
                    existing[0]["data"] = data
            else:
                fail(f"{what}: behavior {behavior!r} is not create, merge or replace")
    return resources


def secret_base64(value: str) -> str:
    """A Secret value as kustomize writes it: base64 in lines of 70 characters, each line ended
    by a newline once there is more than one line (the newlines are part of what it hashes)."""
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    if len(encoded) // 70 + 1 == 1:
        return encoded
    return "".join(encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70))


def go_json(value) -> str:
    """json.Marshal of Go: sorted keys, no spaces, <, >, & and U+2028/9 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def content_hash(obj: dict) -> str:
    """kustomize's name suffix: sha256 of the object's kind, type and data (a Secret's
    base64-encoded) as JSON, the first ten hex digits with 0, 1, 3, a and e swapped for letters.

    kustomize's hasher means to include the name too, but looks it up with the path
    "metadata/name" as one field name, finds nothing and hashes "" (its own test vectors for a
    nameless ConfigMap give the suffixes `kubectl kustomize` prints for named ones)."""
    if obj["kind"] == "ConfigMap":
        encoded = {"kind": "ConfigMap", "name": "", "data": obj["data"]}
    else:
        encoded = {"kind": "Secret", "type": obj["type"], "name": "", "data": obj["data"]}
    digest = hashlib.sha256(go_json(encoded).encode("utf-8")).hexdigest()
    return digest[:10].translate(str.maketrans("013ae", "ghkmt"))


# ---------------------------------------------------------------------------------------------
# Patches


def strategic_merge(target, patch, field: str = ""):
    if isinstance(patch, dict):
        for directive in patch:
            if isinstance(directive, str) and directive.startswith("$"):
                fail(f"strategic merge directive {directive} is not supported")
        if not isinstance(target, dict):
            return copy.deepcopy(patch)
        merged = dict(target)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = strategic_merge(None, value, key)
        return merged
    if isinstance(patch, list):
        key = MERGE_KEYS.get(field)
        if field == "ports" and patch and all(isinstance(p, dict) for p in patch):
            key = "containerPort" if all("containerPort" in p for p in patch) else "port"
        if key is None or not isinstance(target, list):
            return copy.deepcopy(patch)
        merged = [copy.deepcopy(item) for item in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                fail(f"strategic merge: every item of {field} needs {key}")
            for i, existing in enumerate(merged):
                if isinstance(existing, dict) and existing.get(key) == item[key]:
                    merged[i] = strategic_merge(existing, item, "")
                    break
            else:
                merged.append(strategic_merge(None, item, ""))
        return merged
    return copy.deepcopy(patch)


def label_selector_matches(selector: str, labels: dict) -> bool:
    for term in selector.split(","):
        term = term.strip()
        if not re.fullmatch(r"[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*", term):
            fail(f"labelSelector {selector!r}: only key=value terms are supported")
        key, value = term.split("=", 1)
        if labels.get(key) != value:
            return False
    return True


def apply_patches(base: str, kustomization: dict, resources: list) -> None:
    for entry in kustomization.get("patches", []) or []:
        what = f"{base}: patch {entry.get('path', '(inline)') if isinstance(entry, dict) else entry!r}"
        check_fields(what, entry, PATCH_FIELDS)
        if ("path" in entry) == ("patch" in entry):
            fail(f"{what}: give exactly one of path and patch")
        if "path" in entry:
            docs = load_yaml_docs(relative(base, entry["path"]))
        else:
            try:
                docs = [d for d in yaml.safe_load_all(entry["patch"]) if d is not None]
            except yaml.YAMLError as e:
                fail(f"{what}: invalid YAML: {e}")
        if len(docs) != 1 or not isinstance(docs[0], dict):
            fail(f"{what}: a patch is one strategic merge document (JSON 6902 is not supported)")
        patch = docs[0]
        if not patch.get("kind") or not isinstance(patch.get("metadata"), dict):
            fail(f"{what}: a strategic merge patch names its kind and metadata")
        target = entry.get("target")
        if target is not None:
            check_fields(f"{what} target", target, TARGET_FIELDS)
            if not target.get("kind"):
                fail(f"{what}: target needs a kind")
            if target["kind"] != patch["kind"]:
                fail(f"{what}: target kind {target['kind']} but the patch is a {patch['kind']}")
            matched = [
                r for r in resources
                if r["kind"] == target["kind"]
                and ("name" not in target or r["metadata"]["name"] == target["name"])
                and ("labelSelector" not in target or label_selector_matches(
                    target["labelSelector"], r["metadata"].get("labels") or {}))
            ]
        else:
            name = patch["metadata"].get("name")
            matched = [r for r in resources
                       if r["kind"] == patch["kind"] and r["metadata"]["name"] == name]
        if not matched:
            fail(f"{what}: matches no resource")
        body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind", "metadata")}
        meta = {k: v for k, v in patch["metadata"].items() if k not in ("name", "namespace")}
        for resource in matched:
            if resource["apiVersion"] != patch["apiVersion"]:
                fail(f"{what}: apiVersion {patch['apiVersion']} but {describe(resource)} is {resource['apiVersion']}")
            merged = strategic_merge(resource, dict(body, metadata=meta) if meta else body)
            resource.clear()
            resource.update(merged)


# ---------------------------------------------------------------------------------------------
# Transformers


def walk_path(obj: dict, path: tuple):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def pod_specs(obj: dict) -> list:
    if obj["kind"] == "Pod":
        return [obj.get("spec") or {}]
    path = POD_TEMPLATE_PATHS.get(obj["kind"])
    template = walk_path(obj, path) if path else None
    return [template["spec"]] if isinstance(template, dict) and "spec" in template else []


def set_namespace(resources: list, namespace: str) -> None:
    for obj in resources:
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = namespace
        elif obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace


def add_labels(base: str, kustomization: dict, resources: list) -> None:
    for entry in kustomization.get("labels", []) or []:
        check_fields(f"{base}: labels entry", entry, LABEL_FIELDS)
        if entry.get("includeSelectors"):
            fail(f"{base}: labels.includeSelectors is not supported (selectors are immutable)")
        pairs = entry.get("pairs") or {}
        if not pairs or not all(isinstance(v, str) for v in pairs.values()):
            fail(f"{base}: labels.pairs must map names to string values")
        for obj in resources:
            obj["metadata"].setdefault("labels", {}).update(pairs)
            if entry.get("includeTemplates"):
                path = POD_TEMPLATE_PATHS.get(obj["kind"])
                template = walk_path(obj, path) if path else None
                if isinstance(template, dict):
                    template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
                if obj["kind"] == "StatefulSet":
                    for claim in obj["spec"].get("volumeClaimTemplates", []) or []:
                        claim.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
                if obj["kind"] == "CronJob":
                    job = walk_path(obj, ("spec", "jobTemplate"))
                    if isinstance(job, dict):
                        job.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def split_image(image: str) -> tuple:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def set_images(base: str, kustomization: dict, resources: list) -> None:
    for entry in kustomization.get("images", []) or []:
        check_fields(f"{base}: images entry", entry, IMAGE_FIELDS)
        if not entry.get("name"):
            fail(f"{base}: images entry needs a name")
        if "newTag" in entry and "digest" in entry:
            fail(f"{base}: images {entry['name']}: give newTag or digest, not both")
        used = False
        for obj in resources:
            for spec in pod_specs(obj):
                for field in ("initContainers", "containers"):
                    for container in spec.get(field, []) or []:
                        name, tag, digest = split_image(container.get("image", ""))
                        if name != entry["name"]:
                            continue
                        used = True
                        name = entry.get("newName", name)
                        if "newTag" in entry:
                            tag, digest = str(entry["newTag"]), ""
                        if "digest" in entry:
                            tag, digest = "", entry["digest"]
                        container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        if not used:
            fail(f"{base}: images {entry['name']} matches no container")


def rename_references(resources: list, renamed: dict) -> None:
    """Points every reference to a generated ConfigMap or Secret at its suffixed name."""

    def fix(kind: str, holder: dict, field: str, namespace: str) -> None:
        if isinstance(holder, dict) and holder.get(field) is not None:
            new = renamed.get((kind, namespace, holder[field]))
            if new:
                holder[field] = new

    for obj in resources:
        namespace = obj["metadata"].get("namespace", "")
        for spec in pod_specs(obj):
            for volume in spec.get("volumes", []) or []:
                fix("ConfigMap", volume.get("configMap"), "name", namespace)
                fix("Secret", volume.get("secret"), "secretName", namespace)
                for source in (volume.get("projected") or {}).get("sources", []) or []:
                    fix("ConfigMap", source.get("configMap"), "name", namespace)
                    fix("Secret", source.get("secret"), "name", namespace)
            for ref in spec.get("imagePullSecrets", []) or []:
                fix("Secret", ref, "name", namespace)
            for field in ("initContainers", "containers"):
                for container in spec.get(field, []) or []:
                    for env in container.get("env", []) or []:
                        source = env.get("valueFrom") or {}
                        fix("ConfigMap", source.get("configMapKeyRef"), "name", namespace)
                        fix("Secret", source.get("secretKeyRef"), "name", namespace)
                    for env_from in container.get("envFrom", []) or []:
                        fix("ConfigMap", env_from.get("configMapRef"), "name", namespace)
                        fix("Secret", env_from.get("secretRef"), "name", namespace)
        if obj["kind"] == "Ingress":
            for tls in (obj.get("spec") or {}).get("tls", []) or []:
                fix("Secret", tls, "secretName", namespace)


# ---------------------------------------------------------------------------------------------
# Build


def accumulate(directory: str, seen: tuple = ()) -> list:
    """The resources of one kustomization with its generators, patches and transformers applied
    (name suffixes come last, at the top: see render)."""
    directory = os.path.normpath(directory)
    if directory in seen:
        fail(f"{directory}: kustomization cycle through {' -> '.join(seen)}")
    path = kustomization_path(directory)
    with open(path, encoding="utf-8") as f:
        try:
            kustomization = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            fail(f"{path}: invalid YAML: {e}")
    check_fields(path, kustomization, KUSTOMIZATION_FIELDS)
    if kustomization.get("apiVersion", "kustomize.config.k8s.io/v1beta1") != "kustomize.config.k8s.io/v1beta1" \
            or kustomization.get("kind", "Kustomization") != "Kustomization":
        fail(f"{path}: expected apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization")

    resources = []
    for entry in kustomization.get("resources", []) or []:
        if not isinstance(entry, str) or "://" in entry:
            fail(f"{path}: resource {entry!r}: only local files and directories are supported")
        target = relative(directory, entry)
        if os.path.isdir(target):
            resources.extend(accumulate(target, seen + (directory,)))
        elif os.path.isfile(target):
            resources.extend(load_yaml_docs(target))
        else:
            fail(f"{path}: resource {entry} does not exist")

    generate(directory, kustomization, resources)
    apply_patches(directory, kustomization, resources)
    if "namespace" in kustomization:
        set_namespace(resources, kustomization["namespace"])
    add_labels(directory, kustomization, resources)
    set_images(directory, kustomization, resources)

    ids = {}
    for obj in resources:
        key = res_id(obj)
        if key in ids:
            fail(f"{path}: {describe(obj)} is defined twice")
        ids[key] = obj
    return resources


def order_key(obj: dict) -> tuple:
    kind = obj["kind"]
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind) - len(ORDER_FIRST)
    elif kind in ORDER_LAST:
        rank = 1 + ORDER_LAST.index(kind)
    else:
        rank = 0
    group, _, version = obj["apiVersion"].rpartition("/")
    gvk = f"{group or '~G'}_{version}_{kind}"
    return (rank, gvk, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def render(directory: str) -> list:
    resources = accumulate(directory)
    renamed = {}
    for obj in resources:
        if obj.pop(GENERATED, False):
            if obj["kind"] == "Secret":
                obj["data"] = {k: secret_base64(v) for k, v in obj["data"].items()}
            old = obj["metadata"]["name"]
            obj["metadata"]["name"] = f"{old}-{content_hash(obj)}"
            renamed[(obj["kind"], obj["metadata"].get("namespace", ""), old)] = obj["metadata"]["name"]
    rename_references(resources, renamed)
    return sorted(resources, key=order_key)


def main(argv: list) -> int:
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        resources = render(argv[1])
    except RenderError as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(resources, sys.stdout, sort_keys=True, default_flow_style=False,
                       explicit_start=False, width=4096)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

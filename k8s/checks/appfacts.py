"""What the manifests must agree with, read from the application's own sources, so that a renamed
config key, a new secret or a renamed gRPC service fails the manifest checks instead of a pod.

- the config keys and their defaults: crates/engine/config.default.toml;
- the secret keys (never config values, only environment or `*_file`): SECRET_KEYS in
  crates/engine/src/config/secrets.rs;
- the gRPC service each part reports SERVING over grpc.health.v1: declared in
  proto/isthmus/<part>/v1/<part>.proto and served (its generated server) by
  services/<part>/src/lib.rs (health reports every service a part serves);
- the Redis URL schemes the client takes (`rediss://`, Sentinel, Cluster): the redis features in
  Cargo.toml.
"""

from __future__ import annotations

import os
import re
import tomllib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Config tables whose keys are the user's (Rust BTreeMap fields), not fixed config keys.
OPEN_TABLES = (
    "customers.fields", "customers.countries", "customers.ownership", "currencies",
    "catalog.price_books", "catalog.families", "orders.fields",
)

# Each service part and the gRPC service its readiness means.
GRPC_SERVICES = {
    "customers": "isthmus.customers.v1.CustomerSync",
    "catalog": "isthmus.catalog.v1.CatalogSync",
    "orders": "isthmus.orders.v1.OrderSync",
    "finance": "isthmus.finance.v1.FinanceSync",
}
PARTS = tuple(GRPC_SERVICES) + ("gateway",)

# Where the secret keys are listed.
SECRETS_SOURCE = "crates/engine/src/config/secrets.rs"


class Facts:
    def __init__(self, root: str = ROOT):
        self.root = root
        with open(os.path.join(root, "crates/engine/config.default.toml"), "rb") as f:
            self.defaults = tomllib.load(f)
        for table in OPEN_TABLES:
            if not isinstance(self.default(table), dict):
                raise SystemExit(f"appfacts: {table} is no longer a table of config.default.toml: update OPEN_TABLES")
        self.secret_keys = self._secret_keys()
        self._check_grpc_services()
        self.redis_schemes = self._redis_schemes()

    def _read(self, path: str) -> str:
        with open(os.path.join(self.root, path), encoding="utf-8") as f:
            return f.read()

    def _secret_keys(self) -> list:
        source = self._read(SECRETS_SOURCE)
        block = re.search(r"const SECRET_KEYS: \[\(&str, &str\); \d+\] = \[(.*?)\];", source, re.S)
        if not block:
            raise SystemExit(f"appfacts: SECRET_KEYS not found in {SECRETS_SOURCE}")
        keys = re.findall(r'\("(\w+)",\s*"(\w+)"\)', block.group(1))
        if not keys:
            raise SystemExit("appfacts: SECRET_KEYS is empty")
        return keys

    def _check_grpc_services(self) -> None:
        for part, name in GRPC_SERVICES.items():
            package, service = name.rsplit(".", 1)
            proto = self._read(f"proto/isthmus/{part}/v1/{part}.proto")
            declared = re.search(rf"^package {re.escape(package)};", proto, re.M) and re.search(
                rf"^service {service} \{{", proto, re.M
            )
            served = f"{service}Server::new" in self._read(f"services/{part}/src/lib.rs")
            if not (declared and served):
                raise SystemExit(f"appfacts: services/{part} no longer serves {name}: update GRPC_SERVICES")

    def _redis_schemes(self) -> tuple:
        """The URL schemes the app's Redis client takes, from the redis crate's features: TLS
        (`rediss`), Sentinel (`redis+sentinel`) and Cluster (`redis+cluster`), as
        crates/store/src/redis_store/connection.rs reads them."""
        with open(os.path.join(self.root, "Cargo.toml"), "rb") as f:
            cargo = tomllib.load(f)
        redis = cargo["workspace"]["dependencies"]["redis"]
        features = redis.get("features", []) if isinstance(redis, dict) else []
        tls = any(f.startswith("tls-") or "rustls" in f or "native-tls" in f for f in features)
        shapes = [""]
        if "sentinel" in features:
            shapes.append("+sentinel")
        if "cluster-async" in features:
            shapes.append("+cluster")
        schemes = [f"redis{shape}" for shape in shapes]
        if tls:
            schemes += [f"rediss{shape}" for shape in shapes]
        return tuple(schemes)

    def default(self, dotted: str):
        value = self.defaults
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def is_config_key(self, dotted: str) -> bool:
        """A key the app accepts (it refuses unknown keys at start)."""
        if any(dotted.startswith(table + ".") for table in OPEN_TABLES):
            return True
        return self.default(dotted) is not None and not isinstance(self.default(dotted), dict)

    def secret_env_names(self) -> dict:
        """ISTHMUS_<SECTION>__<KEY> of every secret -> its `*_file` config key."""
        return {f"ISTHMUS_{s.upper()}__{k.upper()}": f"{s}.{k}_file" for s, k in self.secret_keys}

    @staticmethod
    def env_to_key(name: str):
        """ISTHMUS_GATEWAY__LISTEN -> gateway.listen, as the app maps it (None: not a config env)."""
        if not name.startswith("ISTHMUS_") or name == "ISTHMUS_CONFIG":
            return None
        parts = name[len("ISTHMUS_"):].split("__")
        if any(not p or not re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts):
            return None
        return ".".join(p.lower() for p in parts)

    def env_value_error(self, name: str, value: str):
        """Why the app would refuse `value` for the config env `name`, or None."""
        key = self.env_to_key(name)
        if key is None or not self.is_config_key(key):
            return f"{name} is not a config key (the app refuses unknown keys)"
        default = self.default(key)
        if default is None or isinstance(default, str):
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                return f"{name}: the quotes would be part of the value"
            return None
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            return f"{name}={value!r} is not a {type(default).__name__}"
        if type(parsed) is not type(default) and not (isinstance(default, float) and isinstance(parsed, int)):
            return f"{name}={value!r} is not a {type(default).__name__}"
        return None

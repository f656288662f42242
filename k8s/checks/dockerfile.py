#!/usr/bin/env python3
"""What the Deployments assume of the image, checked on the Dockerfile (it cannot be built in CI:
no registry of base images is reachable). hadolint checks Dockerfile practice besides this.

Usage: dockerfile.py DOCKERFILE DOCKERIGNORE   (prints each failure; exit 1 when there is one)

- multi-stage: the binary is built by `cargo build --release --locked` in a builder stage and
  only the binary is copied into the runtime stage;
- every base image is pinned to a tag or digest (not `latest`);
- the runtime stage runs as a numeric non-root USER (runAsNonRoot can only verify a number);
- ENTRYPOINT is the exec form of the isthmus binary the runtime stage copied in;
- nothing is ADDed from a URL; .dockerignore keeps .git and target directories out of the context.
"""

from __future__ import annotations

import json
import re
import sys


def instructions(text: str) -> list:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    result, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            result.append((word.upper(), rest.strip()))
    if pending:
        word, _, rest = pending.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def expand(value: str, args: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def check(dockerfile: str, dockerignore: str) -> list:
    failures = []
    args, stages = {}, []
    for word, rest in instructions(dockerfile):
        if word == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif word == "FROM":
            tokens = [t for t in rest.split() if not t.startswith("--")]
            image = expand(tokens[0], args)
            alias = tokens[2] if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            stages.append({"image": image, "alias": alias, "body": []})
        elif stages:
            stages[-1]["body"].append((word, rest))
        else:
            failures.append(f"{word} before the first FROM")
        if word == "ADD" and re.search(r"(^|\s)(https?|git)://|\.git(\s|$)", rest):
            failures.append(f"ADD from a URL ({rest}): download in a RUN step with a checksum, or COPY")
    if len(stages) < 2:
        return failures + ["not multi-stage: build in one stage, copy only the binary into the runtime stage"]
    aliases = {s["alias"] for s in stages if s["alias"]}
    for s in stages:
        if s["image"] in aliases:
            continue
        last = s["image"].rsplit("/", 1)[-1]
        if "@" not in last and (":" not in last or last.endswith(":latest")):
            failures.append(f"base image {s['image']} is not pinned to a tag or digest")
    builds = [rest for s in stages[:-1] for word, rest in s["body"] if word == "RUN" and "cargo build" in rest]
    if not any("--release" in b and "--locked" in b for b in builds):
        failures.append("no builder stage runs `cargo build --release --locked`")
    runtime = stages[-1]
    if runtime["image"] in aliases:
        failures.append("the runtime stage starts from a builder stage: it would carry the toolchain")
    users = [rest for word, rest in runtime["body"] if word == "USER"]
    if not users:
        failures.append("the runtime stage sets no USER: the container would run as root")
    else:
        uid, _, gid = users[-1].partition(":")
        if not uid.isdigit() or int(uid) == 0 or (gid and (not gid.isdigit() or int(gid) == 0)):
            failures.append(f"USER {users[-1]}: must be a numeric non-root uid[:gid] (runAsNonRoot checks numbers)")
    entry = [rest for word, rest in runtime["body"] if word == "ENTRYPOINT"]
    try:
        entry_argv = json.loads(entry[-1]) if entry else None
    except json.JSONDecodeError:
        entry_argv = None
    if not isinstance(entry_argv, list) or not entry_argv or not str(entry_argv[0]).endswith("/isthmus"):
        failures.append("ENTRYPOINT must be the exec form [\"/…/isthmus\"] (args are `serve <part>`)")
    else:
        copied = [rest.split()[-1] for word, rest in runtime["body"]
                  if word == "COPY" and re.search(r"--from=\S+", rest)]
        if entry_argv[0] not in copied:
            failures.append(f"the runtime stage does not COPY --from the builder to {entry_argv[0]}")
    ignored = {line.strip() for line in dockerignore.splitlines() if line.strip() and not line.startswith("#")}
    for needed, patterns in (("the .git directory", {".git", ".git/"}),
                             ("target directories", {"target", "target/", "**/target", "**/target/"})):
        if not ignored & patterns:
            failures.append(f".dockerignore does not exclude {needed}")
    return failures


def main(argv: list) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        dockerfile = f.read()
    with open(argv[2], encoding="utf-8") as f:
        dockerignore = f.read()
    failures = check(dockerfile, dockerignore)
    for failure in failures:
        print(f"{argv[1]}: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

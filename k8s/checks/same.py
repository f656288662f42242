#!/usr/bin/env python3
"""Whether two renders of an overlay hold the same objects in the same order: render.py's against
`kubectl kustomize`'s, so the renderer CI relies on stays faithful to kustomize.

Usage: same.py OURS.yaml THEIRS.yaml   (prints the differences; exit 1 when there is one)

Secret values are compared decoded (kustomize wraps long base64 values over lines).
"""

from __future__ import annotations

import base64
import json
import sys

import yaml


def load(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if d.get("kind") == "Secret":
            d["data"] = {k: base64.b64decode("".join(v.split())).decode("utf-8", "replace")
                         for k, v in (d.get("data") or {}).items()}
    return docs


def ident(d: dict) -> str:
    return f"{d.get('apiVersion')} {d.get('kind')} {d['metadata'].get('namespace', '')}/{d['metadata'].get('name')}"


def main(argv: list) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    ours, theirs = load(argv[1]), load(argv[2])
    differences = []
    if [ident(d) for d in ours] != [ident(d) for d in theirs]:
        differences.append("objects or their order differ:\n  ours:   " + "\n          ".join(map(ident, ours))
                           + "\n  theirs: " + "\n          ".join(map(ident, theirs)))
    else:
        for a, b in zip(ours, theirs):
            if a != b:
                differences.append(f"{ident(a)} differs:\n  ours:   {json.dumps(a, sort_keys=True)}\n"
                                   f"  theirs: {json.dumps(b, sort_keys=True)}")
    for d in differences:
        print(f"{argv[1]} vs {argv[2]}: {d}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Schemathesis hooks for tests/tests/it/schemathesis.rs.

Around every call, reads the sandbox's count of vendor writes from the test's counter endpoint
(SANDBOX_WRITES_URL) and appends one JSON line per call to CALL_LOG: the method, path, status
and the writes counted before and after. The Rust test reads the log to count the requests
and to find a request answered 4xx during which Salesforce or NetSuite was written to.
Runs with one worker, so the counts around a call are that call's. The endpoint answers once
the mesh is quiet, so the count after one call is the count before the next.
"""

import json
import os
import urllib.request

import schemathesis

_WRITES_URL = os.environ["SANDBOX_WRITES_URL"]
_CALL_LOG = os.environ["CALL_LOG"]
_quiet = {"writes": None}


def _writes():
    with urllib.request.urlopen(_WRITES_URL, timeout=30) as answer:
        return json.load(answer)["writes"]


@schemathesis.hook
def before_call(context, case, kwargs):
    if _quiet["writes"] is None:
        _quiet["writes"] = _writes()


@schemathesis.hook
def after_call(context, case, response):
    after = _writes()
    line = {
        "method": case.method,
        "path": case.formatted_path,
        "status": response.status_code,
        "writes_before": _quiet["writes"],
        "writes_after": after,
    }
    _quiet["writes"] = after
    with open(_CALL_LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")

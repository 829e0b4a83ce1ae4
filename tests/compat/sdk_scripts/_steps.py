"""Shared by the SDK scripts (run inside an SDK's virtualenv, from this directory): the JSON config read from
stdin, and `step`, which records what each call returned or raised for the test to read."""

import json
import sys
import time

cfg = json.load(sys.stdin)
out: dict = {}


def describe_error(exc: Exception) -> dict:
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):  # requests.HTTPError
        return {"error": type(exc).__name__, "status": response.status_code, "body": response.text[:500]}
    return {"error": type(exc).__name__, "message": str(exc)[:500]}


def step(name, fn):
    started = time.monotonic()
    try:
        out[name] = {"ok": fn()}
    except Exception as exc:  # noqa: BLE001 - the test reads the type
        out[name] = describe_error(exc)
    out[name]["seconds"] = round(time.monotonic() - started, 2)


def report() -> None:
    print(json.dumps(out, default=str))

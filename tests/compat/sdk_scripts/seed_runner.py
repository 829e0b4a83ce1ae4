"""Runs inside an SDK's virtualenv (not the app's): the code examples of a seed document, each exactly as the test
extracted it (placeholders filled), one after another in one namespace, as a reader pastes them into a notebook.

Reads {"sdk": "encord" | "supervisely", "domain", "blocks": [{"name", "code", "fresh"}]} as JSON on stdin and prints,
on its last line, a JSON object of block name → {"ok": what it printed} or {"error", "message", "printed"}.

The only thing the harness changes is where the SDK connects: Encord's client defaults to https://api.encord.com, so
`create_with_ssh_private_key` gets `domain=` (the documented way to point it elsewhere) when the script gives none;
Supervisely's `sly.Api()` reads SERVER_ADDRESS and API_TOKEN from the environment the test sets.
"""

import contextlib
import io
import traceback

from _steps import cfg, out, report

if cfg["sdk"] == "encord":
    from encord import EncordUserClient

    _create = EncordUserClient.create_with_ssh_private_key

    def _create_with_domain(*args, **kwargs):
        kwargs.setdefault("domain", cfg["domain"])
        return _create(*args, **kwargs)

    EncordUserClient.create_with_ssh_private_key = staticmethod(_create_with_domain)

namespace: dict = {}
for block in cfg["blocks"]:
    if block.get("fresh"):
        namespace = {}
    namespace.setdefault("__name__", "__main__")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(block["code"], block["name"], "exec"), namespace)  # noqa: S102 - the documented example
        out[block["name"]] = {"ok": printed.getvalue()}
    except Exception as exc:  # noqa: BLE001 - the test reads the type
        out[block["name"]] = {"error": type(exc).__name__, "message": str(exc)[:500], "printed": printed.getvalue(),
                              "traceback": traceback.format_exc()[-1500:]}

report()

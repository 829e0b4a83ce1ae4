"""The explorer sidebar form: widget inputs (one per field type) -> canonical ``f`` conditions.

Plain HTML forms cannot write ``f=weather:in:Sunny,Rain`` from checkboxes, so the sidebar posts
widget inputs (``in.weather=Sunny&in.weather=Rain``, ``op.temperature=gt&v.temperature=30``, ...)
with ``apply=1``; `conditions_from_widgets` turns them into ``f`` strings and the view redirects to
(or, for htmx, pushes) the canonical URL, which holds only ``f``/``any``/``scope``/``sort``/...
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from metadata_site.schemas.fields import Schema

from . import filters as fl

PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PRESET_LABELS = {"24h": "last 24 h", "7d": "last 7 days", "30d": "last 30 days"}
VIEW_PARAMS = ("view", "cols")


def conditions_from_widgets(data, *, schema: Schema, now: datetime | None = None) -> list[str]:
    """``f`` strings for the widget inputs of `data` (unvalidated: parsing validates them)."""
    now = now or datetime.now(UTC)
    out: list[str] = [f for f in data.getlist("f") if f.strip()]
    query_text = (data.get("q") or "").strip()
    if query_text:
        out.append(f"title:contains:{query_text}")
    kinds = [k for k in data.getlist("kind") if k]
    if kinds:
        out.append(f"kind:in:{','.join(kinds)}")
    for key in dict.fromkeys(data.getlist("u")):
        # a key found in the data that no field declares (the "found in the data" widgets)
        if not key or schema.get(key) is not None:
            continue
        name = key if key not in fl.BUILTINS else fl.META_PREFIX + key
        op = data.get(f"uop.{key}") or ""
        value = (data.get(f"uv.{key}") or "").strip()
        if op in (fl.IS_SET, fl.IS_UNSET):
            out.append(f"{name}:{op}")
        elif op and value:
            out.append(f"{name}:{op}:{value}")
    for spec in schema:
        name = spec.name if spec.name not in fl.BUILTINS else fl.META_PREFIX + spec.name
        key = spec.name
        family = fl.type_key(spec)
        presence = data.get(f"set.{key}")
        if presence in (fl.IS_SET, fl.IS_UNSET):
            out.append(f"{name}:{presence}")
        if family == "enum":
            chosen = [v for v in data.getlist(f"in.{key}") if v]
            if chosen:
                out.append(f"{name}:in:{','.join(chosen)}")
        elif family == "multi_enum":
            chosen = [v for v in data.getlist(f"in.{key}") if v]
            op = data.get(f"op.{key}") or fl.HAS_ANY
            if chosen:
                out.append(f"{name}:{op}:{','.join(chosen)}")
        elif family == "boolean":
            value = data.get(f"eq.{key}")
            if value in ("true", "false"):
                out.append(f"{name}:eq:{value}")
        else:
            op = data.get(f"op.{key}") or ""
            low = (data.get(f"v.{key}") or "").strip()
            high = (data.get(f"v2.{key}") or "").strip()
            preset = data.get(f"preset.{key}")
            if family == "datetime" and preset in PRESETS:
                out.append(f"{name}:gte:{(now - PRESETS[preset]).strftime('%Y-%m-%dT%H:%M:%SZ')}")
            elif op == fl.BETWEEN and (low or high):
                out.append(f"{name}:between:{low}..{high}")
            elif op and low:
                out.append(f"{name}:{op}:{low}")
    return out


def widget_state(query: fl.Query, *, schema: Schema) -> tuple[dict, list[fl.Condition]]:
    """(widget values by key, the conditions no widget shows, kept as hidden ``f`` inputs).

    Keys: ``q`` (title contains), ``kind`` (list), and per declared field ``<name>`` ->
    {"op", "values" (set), "v", "v2", "presence"}.
    """
    state: dict = {"q": "", "kind": []}
    hidden: list[fl.Condition] = []
    for c in query.all:
        if c.builtin:
            if c.field == "title" and c.op == fl.CONTAINS and not state["q"]:
                state["q"] = c.value
            elif c.field == "kind" and c.op in (fl.IN, fl.EQ) and not state["kind"]:
                state["kind"] = list(c.value) if c.op == fl.IN else [c.value]
            else:
                hidden.append(c)
            continue
        if c.undeclared:
            hidden.append(c)
            continue
        spec = schema.get(c.field)
        w = state.setdefault(c.field, {"op": "", "values": set(), "v": "", "v2": "", "presence": ""})
        family = fl.type_key(spec)
        if c.op in (fl.IS_SET, fl.IS_UNSET):
            if w["presence"]:
                hidden.append(c)
            else:
                w["presence"] = c.op
            continue
        if w["op"]:
            hidden.append(c)
        elif family == "enum" and c.op in (fl.EQ, fl.IN):
            w["op"], w["values"] = fl.IN, set(c.value if c.op == fl.IN else (c.value,))
        elif family == "multi_enum":
            w["op"], w["values"] = c.op, set(c.value)
        elif family == "boolean":
            w["op"], w["v"] = fl.EQ, "true" if (c.value if c.op == fl.EQ else not c.value) else "false"
        elif family in ("float", "integer", "datetime", "string", "link") and c.op in _WIDGET_OPS[family]:
            w["op"] = c.op
            if c.op == fl.BETWEEN:
                w["v"], w["v2"] = fl._format_scalar(c.value[0]), fl._format_scalar(c.value[1])
            else:
                w["v"] = fl._format_scalar(c.value)
        else:
            hidden.append(c)
    return state, hidden


_ORDERED_OPS = (fl.EQ, fl.NE, fl.LT, fl.LTE, fl.GT, fl.GTE, fl.BETWEEN)
_WIDGET_OPS = {
    "float": _ORDERED_OPS,
    "integer": _ORDERED_OPS,
    "datetime": (fl.BETWEEN, fl.LT, fl.GT, fl.LTE, fl.GTE, fl.EQ),
    "string": (fl.CONTAINS, fl.EQ, fl.STARTSWITH),
    "link": (fl.CONTAINS, fl.EQ),
}
OP_LABELS = {
    fl.EQ: "=", fl.NE: "≠", fl.LT: "<", fl.LTE: "≤", fl.GT: ">", fl.GTE: "≥", fl.BETWEEN: "between",
    fl.CONTAINS: "contains", fl.STARTSWITH: "starts with", fl.HAS_ANY: "has any of", fl.HAS_ALL: "has all of",
    fl.HAS_NONE: "has none of",
}
UNDECLARED_OP_LABELS = {
    **OP_LABELS, fl.IN: "any of (a,b)", fl.BETWEEN: "between (low..high)", fl.IS_SET: "is set", fl.IS_UNSET: "is not set"
}
DATETIME_LABELS = {fl.BETWEEN: "between", fl.LT: "before", fl.GT: "after", fl.LTE: "on or before", fl.GTE: "on or after", fl.EQ: "at"}


def widget_ops(family: str) -> list[tuple[str, str]]:
    if family == "datetime":
        return [(op, DATETIME_LABELS[op]) for op in _WIDGET_OPS[family]]
    if family == "multi_enum":
        return [(op, OP_LABELS[op]) for op in (fl.HAS_ANY, fl.HAS_ALL, fl.HAS_NONE)]
    return [(op, OP_LABELS[op]) for op in _WIDGET_OPS.get(family, ())]

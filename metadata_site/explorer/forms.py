"""The explorer sidebar form: widget inputs (one per field type) -> canonical ``f`` conditions.

Plain HTML forms cannot write ``f=weather:in:Sunny,Rain`` from checkboxes, so the sidebar posts
widget inputs (``in.weather=Sunny&in.weather=Rain``, ``op.temperature=gt&v.temperature=30``, ...,
and the OR group's builder rows ``or.field``/``or.op``/``or.value``) with ``apply=1``;
`conditions_from_widgets` turns them into ``f``/``any`` strings and the view redirects to (or, for
htmx, pushes) the canonical URL, which holds only ``f``/``any``/``scope``/``sort``/``view``/``cols``.
The sort select and the table's column choice belong to the same form (``form="filters"``), so the
URL state is built in one place: this module, from one form.

`parse_state` parses each condition on its own: a bad one becomes a `Problem` shown at its own input
(or as a chip), and every other condition still applies.

`QueryForm` (and `ExploreForm`, the page's lenient variant) is the boundary of the explorer's views: its
``clean()`` returns the query, its items and (with ``paging``) the cursor and "find similar"; whatever makes the
whole query invalid (a bad scope, cursor, too many conditions) is its one error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from metadata_site.media import lookalike
from metadata_site.schemas.fields import Schema

from . import query as fl
from . import selectors

PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PRESET_LABELS = {"24h": "last 24 h", "7d": "last 7 days", "30d": "last 30 days"}
VIEW_PARAMS = ("view", "cols")


@dataclass(frozen=True)
class Problem:
    """A condition (or the sort) that did not parse: ``group`` is ``f``, ``any`` or ``sort``, ``raw`` the
    string as given, ``message`` the FilterError's text (it names the parameter)."""

    group: str
    raw: str
    message: str

    @property
    def reason(self) -> str:
        """The message without its ``<param>:`` prefix, for display beside the input it belongs to."""
        prefix = f"{self.group}={self.raw}: " if self.group != "sort" else "sort: "
        return self.message[len(prefix):] if self.message.startswith(prefix) else self.message


def parse_state(data, *, schema: Schema, now: datetime | None = None) -> tuple[fl.Query, list[Problem]]:
    """The explorer query of a request (widget inputs with ``apply``, else ``f``/``any``) and its problems.

    Each condition is parsed on its own, so one bad value leaves the others applied; duplicates collapse.
    The scope, the number of conditions and a cursor are not per-input: they raise FilterError.
    """
    if data.get("apply"):
        strings = conditions_from_widgets(data, schema=schema, now=now)
    else:
        strings = [(group, raw) for group in ("f", "any") for raw in data.getlist(group) if raw.strip()]
    for group in ("f", "any"):
        if sum(1 for g, _ in strings if g == group) > fl.MAX_CONDITIONS:
            raise fl.FilterError(fl.FILTER_TOO_MANY.format(param=group, limit=fl.MAX_CONDITIONS), param=group)
    parsed: dict[str, dict[fl.Condition, None]] = {"f": {}, "any": {}}
    problems: list[Problem] = []
    for group, raw in strings:
        try:
            parsed[group][fl.parse_condition(raw, schema=schema, param=f"{group}={raw}")] = None
        except fl.FilterError as err:
            problems.append(Problem(group, raw, str(err)))
    scope = fl.parse_scope(_last(data, "scope"))
    raw_sort = _last(data, "sort")
    try:
        sort = fl.parse_sort(raw_sort, schema=schema)
    except fl.FilterError as err:
        problems.append(Problem("sort", raw_sort or "", str(err)))
        sort = fl.Sort()
    return fl.Query(all=tuple(parsed["f"]), any=tuple(parsed["any"]), scope=scope, sort=sort), problems


class QueryForm(forms.Form):
    """The explorer's query parameters (``f``, ``any``, ``scope``, ``sort``; with `paging` also ``after``,
    ``similar_to`` and ``k``), validated against the workspace's schema and objects. ``clean()`` returns
    {"query", "problems", "items" (the matching items, unordered), "after", "similar"}; a FilterError becomes the
    form's one error, kept as `filter_error` (its message names the parameter)."""

    def __init__(self, data, *, schema: Schema, workspace: Any, paging: bool = False):
        super().__init__(data)
        self.schema, self.workspace, self.paging = schema, workspace, paging
        self.filter_error: fl.FilterError | None = None

    def parse(self) -> tuple[fl.Query, list[Problem]]:
        """The query and its per-condition problems (here none: any bad condition is the form's error)."""
        return fl.parse_query_string(self.data, schema=self.schema), []

    def clean(self) -> dict:
        try:
            query, problems = self.parse()
            after, similar = None, None
            if self.paging:
                after = self.data.get("after") or None
                if after:
                    fl.decode_cursor(after, query.sort, schema=self.schema)
                similar = lookalike.parse_similar(self.data)
            # Resolving the scope looks it up in the workspace (a missing folder is this form's error too).
            items = selectors.explorer_items(query, schema=self.schema, workspace=self.workspace)
        except fl.FilterError as err:
            self.filter_error = err
            raise ValidationError(err.message, code="filter") from None
        return {"query": query, "problems": problems, "items": items, "after": after, "similar": similar}


class ExploreForm(QueryForm):
    """The explorer page's parameters: also the sidebar's widgets (``apply``), and a bad condition is a `Problem`
    shown at its input while the others apply (`parse_state`)."""

    def __init__(self, data, *, schema: Schema, workspace: Any, now: datetime | None = None):
        super().__init__(data, schema=schema, workspace=workspace, paging=True)
        self.now = now

    def parse(self) -> tuple[fl.Query, list[Problem]]:
        return parse_state(self.data, schema=self.schema, now=self.now)


def _last(data, key: str) -> str | None:
    values = [v for v in data.getlist(key) if v.strip()]
    return values[-1] if values else None


def state_params(query: fl.Query, problems: list[Problem]) -> list[tuple[str, str]]:
    """The URL pairs of what the user set: the applied query plus the conditions that did not parse."""
    pairs = query.to_params()
    bad = [(p.group, p.raw) for p in problems if p.group in ("f", "any")]
    conditions = [pair for pair in pairs if pair[0] in ("f", "any")]
    return conditions + bad + [pair for pair in pairs if pair[0] not in ("f", "any")]


def conditions_from_widgets(data, *, schema: Schema, now: datetime | None = None) -> list[tuple[str, str]]:
    """(``f`` or ``any``, condition string) for the widget inputs of `data` (unvalidated: parsing validates
    them). Hidden ``f``/``any`` inputs (conditions no widget shows) pass through."""
    now = now or datetime.now(UTC)
    out: list[str] = [f for f in data.getlist("f") if f.strip()]
    query_text = (data.get("q") or "").strip()
    if query_text:
        out.append(f"title:contains:{query_text}")
    kinds = [k for k in data.getlist("kind") if k]
    if kinds:
        out.append(f"kind:in:{','.join(kinds)}")
    dup = DUP_WIDGET.get(data.get("dup") or "")
    if dup:
        out.append(dup)
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
            elif op == fl.BETWEEN and low and high:
                out.append(f"{name}:between:{low}..{high}")
            elif op == fl.BETWEEN and (low or high):  # one bound: an open range
                out.append(f"{name}:gte:{low}" if low else f"{name}:lte:{high}")
            elif op and low:
                out.append(f"{name}:{op}:{low}")
    pairs = [("f", f) for f in out] + [("any", a) for a in data.getlist("any") if a.strip()]
    rows = zip(data.getlist("or.field"), data.getlist("or.op"), data.getlist("or.value"), strict=False)
    for name, op, value in rows:
        if name.strip():
            pairs.append(("any", f"{name.strip()}:{op}" + (f":{value.strip()}" if value.strip() else "")))
    return pairs


def widget_state(query: fl.Query, *, schema: Schema) -> tuple[dict, list[fl.Condition]]:
    """(widget values by key, the conditions no widget shows, kept as hidden ``f`` inputs).

    Keys: ``q`` (title contains), ``kind`` (list), and per declared field ``<name>`` ->
    {"op", "values" (set), "v", "v2", "presence", "error"}.
    """
    state: dict = {"q": "", "kind": [], "dup": ""}
    hidden: list[fl.Condition] = []
    for c in query.all:
        if c.builtin:
            if c.field == "title" and c.op == fl.CONTAINS and not state["q"]:
                state["q"] = c.value
            elif c.field == "kind" and c.op in (fl.IN, fl.EQ) and not state["kind"]:
                state["kind"] = list(c.value) if c.op == fl.IN else [c.value]
            elif c.to_param() in DUP_WIDGET_OF and not state["dup"]:
                state["dup"] = DUP_WIDGET_OF[c.to_param()]
            else:
                hidden.append(c)
            continue
        if c.undeclared:
            hidden.append(c)
            continue
        spec = schema.get(c.field)
        w = state.setdefault(c.field, empty_widget())
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
                w["v"], w["v2"] = fl.format_scalar(c.value[0]), fl.format_scalar(c.value[1])
            else:
                w["v"] = fl.format_scalar(c.value)
        else:
            hidden.append(c)
    return state, hidden


def empty_widget() -> dict:
    return {"op": "", "values": set(), "v": "", "v2": "", "presence": "", "error": ""}


def show_problems(state: dict, problems: list[Problem], *, schema: Schema) -> list[Problem]:
    """Put each bad ``f`` condition back into its field's widget, as typed, with its reason; returns the
    ``f`` problems no widget can show (they stay in the form as hidden inputs and show as chips). Bad ``any``
    conditions show in the OR builder (`or_rows`), a bad sort in the page's alert."""
    unshown = []
    for p in problems:
        if p.group != "f":
            continue
        name, _, rest = p.raw.partition(":")
        op, _, value = rest.partition(":")
        declared = name[len(fl.META_PREFIX):] if name.startswith(fl.META_PREFIX) else name
        spec = schema.get(declared) if (name not in fl.BUILTINS) else None
        w = state.setdefault(declared, empty_widget()) if spec is not None else None
        if w is None or w["error"]:
            unshown.append(p)
            continue
        family = fl.type_key(spec)
        if op in (fl.IS_SET, fl.IS_UNSET) and not w["presence"]:
            w["presence"] = op
        elif family in ("enum", "multi_enum") and not w["op"] and op in (fl.IN, fl.EQ, *widget_op_names(family)):
            w["op"], w["values"] = op, set(value.split(","))
        elif family == "boolean" and not w["op"] and op == fl.EQ:
            w["op"], w["v"] = op, value
        elif not w["op"] and op in _WIDGET_OPS.get(family, ()):
            w["op"] = op
            w["v"], _, w["v2"] = value.partition("..") if op == fl.BETWEEN else (value, "", "")
        else:
            unshown.append(p)
            continue
        w["error"] = p.reason
    return unshown


def or_rows(query: fl.Query, problems: list[Problem]) -> list[dict]:
    """The OR group's builder rows: each applied ``any`` condition, each bad one (with its reason), one empty."""
    rows = []
    for raw, error in [(c.to_param(), "") for c in query.any] + [(p.raw, p.reason) for p in problems if p.group == "any"]:
        name, _, rest = raw.partition(":")
        op, _, value = rest.partition(":")
        rows.append({"field": name, "op": op, "value": value, "error": error})
    rows.append({"field": "", "op": "", "value": "", "error": ""})
    return rows


def or_fields(schema: Schema) -> list[tuple[str, str, str]]:
    """(name as written in a condition, label, the operators it allows, space-separated) for the OR builder."""
    out = [("title", "title", " ".join(fl.OPERATORS["title"])), ("kind", "kind", " ".join(fl.OPERATORS["kind"])),
           (fl.DUP_ROLE, "near-duplicate role (representative, copy)", " ".join(fl.OPERATORS["dup_role"]))]
    for spec in schema:
        name = fl.META_PREFIX + spec.name if spec.name in fl.BUILTINS else spec.name
        out.append((name, spec.name, " ".join(fl.operators_for(spec))))
    return out


# The sidebar's "Near-duplicates" choice (`dup`) and the condition each choice stands for.
DUP_WIDGET = {
    "any": "$dup_group:is_set",
    "representative": f"{fl.DUP_ROLE}:eq:representative",
    "copy": f"{fl.DUP_ROLE}:eq:copy",
    "none": "$dup_group:is_unset",
}
DUP_WIDGET_OF = {condition: choice for choice, condition in DUP_WIDGET.items()}
DUP_CHOICES = [
    ("", "any item"),
    ("any", "has near-duplicates"),
    ("representative", "is the representative of its group"),
    ("copy", "is a copy (not the representative)"),
    ("none", "has no near-duplicates"),
]

OR_OPS = (
    fl.EQ, fl.NE, fl.LT, fl.LTE, fl.GT, fl.GTE, fl.BETWEEN, fl.CONTAINS, fl.STARTSWITH, fl.IN,
    fl.HAS_ANY, fl.HAS_ALL, fl.HAS_NONE, fl.IS_SET, fl.IS_UNSET,
)


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
    fl.HAS_NONE: "has none of", fl.IN: "is any of", fl.IS_SET: "is set", fl.IS_UNSET: "is not set",
}
UNDECLARED_OP_LABELS = {
    **OP_LABELS, fl.IN: "any of (a,b)", fl.BETWEEN: "between (low..high)", fl.IS_SET: "is set", fl.IS_UNSET: "is not set"
}
DATETIME_LABELS = {fl.BETWEEN: "between", fl.LT: "before", fl.GT: "after", fl.LTE: "on or before", fl.GTE: "on or after", fl.EQ: "at"}


def widget_op_names(family: str) -> tuple[str, ...]:
    return tuple(op for op, _ in widget_ops(family))


def widget_ops(family: str) -> list[tuple[str, str]]:
    if family == "datetime":
        return [(op, DATETIME_LABELS[op]) for op in _WIDGET_OPS[family]]
    if family == "multi_enum":
        return [(op, OP_LABELS[op]) for op in (fl.HAS_ANY, fl.HAS_ALL, fl.HAS_NONE)]
    return [(op, OP_LABELS[op]) for op in _WIDGET_OPS.get(family, ())]


def describe_query(query: fl.Query) -> str:
    """A sentence for people: ``weather is Rain or Snow, temperature > 30``; the OR group as ``any of: …``."""
    parts = [_readable(c) for c in query.all]
    if query.any:
        parts.append("any of: " + " or ".join(_readable(c) for c in query.any))
    return ", ".join(parts)


def _readable(condition: fl.Condition) -> str:
    if condition.op == fl.IN:
        return f"{condition.field} is " + " or ".join(fl.format_scalar(v) for v in condition.value)
    return fl.describe(condition)

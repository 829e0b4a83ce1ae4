"""Parsing: the URL ``f=`` syntax and the JSON form to a validated `Query`, checked against the schema.

Never a type guessed from data: the schema says each field's family, and `values.parse_filter_value` coerces
each value to it. Every problem is a `FilterError` naming the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from metadata_site.lib.userinput import parse_id
from metadata_site.schemas.fields import FieldSpec, Schema

from .errors import (
    FILTER_BAD_JSON,
    FILTER_BAD_KEY,
    FILTER_BAD_OPERATOR,
    FILTER_BAD_RANGE,
    FILTER_BAD_SCOPE,
    FILTER_BAD_SORT,
    FILTER_EMPTY_RANGE,
    FILTER_MALFORMED,
    FILTER_NEEDS_VALUE,
    FILTER_NO_VALUE,
    FILTER_TOO_MANY,
    FILTER_UNKNOWN_FIELD,
    FILTER_VALUE_TOO_LONG,
    MAX_CONDITIONS,
    MAX_KEY_LENGTH,
    MAX_LIST,
    MAX_VALUE_LENGTH,
    FilterError,
    short,
)
from .objects import Condition, Query, Scope, Sort, format_value
from .operators import (
    BETWEEN,
    BUILTINS,
    DERIVED_FIELDS,
    LIST_OPS,
    MAP_FIELD,
    MAP_METHODS,
    MEDIA_FIELDS,
    META_PREFIX,
    NO_VALUE_OPS,
    OPERATORS,
    RANGE_OPS,
    UNDECLARED,
    family_of,
)
from .values import bad_value, empty_range, parse_filter_value

SCOPE_KINDS = ("folder", "dataset", "collection")


def _split_list(raw: Any) -> list:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        return [part for part in raw.split(",")]
    return [raw]


def _split_range(raw: Any, *, param: str) -> list:
    if isinstance(raw, list | tuple):
        if len(raw) != 2:
            raise FilterError(FILTER_BAD_RANGE.format(param=param, raw=raw), param=param)
        return list(raw)
    if isinstance(raw, str) and raw.count("..") == 1:
        low, high = raw.split("..")
        return [low, high]
    raise FilterError(FILTER_BAD_RANGE.format(param=param, raw=raw), param=param)


def resolve_field(name: str, *, schema: Schema, param: str) -> tuple[str, FieldSpec | None, bool]:
    """(field name, its spec or None for a built-in or an undeclared key, is_builtin)."""
    if name in MEDIA_FIELDS or name in DERIVED_FIELDS or name == MAP_FIELD:
        return name, None, True
    if name.startswith("$"):  # reserved for media fields (no declared field takes it): a typo, not a key
        raise FilterError(FILTER_UNKNOWN_FIELD.format(param=param, field=short(name)), param=param)
    key = name[len(META_PREFIX) :] if name.startswith(META_PREFIX) and name[len(META_PREFIX) :] in BUILTINS else None
    if key is None and name in BUILTINS:
        return name, None, True
    key = name if key is None else key
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise FilterError(FILTER_BAD_KEY.format(param=param, limit=MAX_KEY_LENGTH, length=len(key)), param=param)
    return key, schema.get(key), False


def _value_length(raw: Any) -> int:
    """The length of a value as the query string writes it (a list comma-separated)."""
    if isinstance(raw, list | tuple):
        return sum(_value_length(v) for v in raw) + max(len(raw) - 1, 0)
    if isinstance(raw, dict):
        return len(json.dumps(raw, default=str))
    return len(raw) if isinstance(raw, str) else len(str(raw))


def make_condition(name: str, op: str, raw: Any, *, schema: Schema, param: str = "f") -> Condition:
    """Validate and coerce one (field, op, value) triple against `schema`."""
    length = _value_length(raw) if raw is not None else 0
    if length > MAX_VALUE_LENGTH:
        raise FilterError(
            FILTER_VALUE_TOO_LONG.format(param=param, limit=MAX_VALUE_LENGTH, length=length), param=param
        )
    field_name, spec, builtin = resolve_field(name, schema=schema, param=param)
    family = family_of(field_name, spec, builtin)
    undeclared = family == UNDECLARED
    allowed = OPERATORS[family]
    if op not in allowed:
        kind = "multi enum" if family == "multi_enum" else family
        raise FilterError(
            FILTER_BAD_OPERATOR.format(param=param, op=short(op), field=name, kind=kind, allowed=", ".join(allowed)),
            param=param,
        )
    if op in NO_VALUE_OPS:
        if raw not in (None, ""):
            raise FilterError(FILTER_NO_VALUE.format(param=param, op=op), param=param)
        return Condition(field_name, op, None, builtin, undeclared)
    if raw is None or raw == "" or raw == []:
        raise FilterError(FILTER_NEEDS_VALUE.format(param=param, op=op), param=param)
    if family == "map":
        return Condition(field_name, op, map_box_value(raw, schema=schema, param=param), builtin)
    if undeclared and op in RANGE_OPS:
        family = "undeclared_number"

    def one(v: Any) -> Any:
        return parse_filter_value(family, v, param=param, name=name, spec=spec)

    if op == BETWEEN:
        low, high = (one(v) for v in _split_range(raw, param=param))
        if empty_range(family, low, high):
            raise FilterError(FILTER_EMPTY_RANGE.format(param=param, raw=format_value(BETWEEN, (low, high))), param=param)
        return Condition(field_name, op, (low, high), builtin, undeclared)
    if op in LIST_OPS:
        items = _split_list(raw)
        if len(items) > MAX_LIST:
            raise FilterError(FILTER_TOO_MANY.format(param=param, limit=MAX_LIST), param=param)
        values = tuple(dict.fromkeys(one(v) for v in items))
        if not values:
            raise FilterError(FILTER_NEEDS_VALUE.format(param=param, op=op), param=param)
        return Condition(field_name, op, values, builtin, undeclared)
    if isinstance(raw, list | tuple | dict):
        raise bad_value(param, name, family, raw)
    return Condition(field_name, op, one(raw), builtin, undeclared)


FILTER_BAD_MAP_BOX = (
    "{param}: {raw!r} is not a box of a map: expected <embedding field>/<method>/<x0>,<y0>,<x1>,<y1> "
    "(method one of {methods}; four finite numbers)"
)
FILTER_MAP_NO_FIELD = "{param}: {field!r} is not an embedding field of the schema"


def map_box_value(raw: Any, *, schema: Schema, param: str) -> tuple:
    """The value of a ``$map:box`` condition, from ``field/method/x0,y0,x1,y1`` or a list of those six: (field,
    method, x_min, y_min, x_max, y_max), the corners given in any order."""
    import math

    if isinstance(raw, str):
        parts = raw.rsplit("/", 2)
        parts = parts[:2] + parts[2].split(",") if len(parts) == 3 else []
    else:
        parts = list(raw) if isinstance(raw, list | tuple) else []
    bad = FilterError(FILTER_BAD_MAP_BOX.format(param=param, raw=short(str(raw)), methods=", ".join(MAP_METHODS)),
                      param=param)
    if len(parts) != 6 or not all(isinstance(p, str) for p in parts[:2]) or parts[1] not in MAP_METHODS:
        raise bad
    try:
        x0, y0, x1, y1 = (float(p) for p in parts[2:])
    except (TypeError, ValueError):
        raise bad from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise bad
    if schema.embedding(parts[0]) is None:
        raise FilterError(FILTER_MAP_NO_FIELD.format(param=param, field=short(parts[0])), param=param)
    return (parts[0], parts[1], min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def parse_condition(raw: str, *, schema: Schema, param: str = "f") -> Condition:
    """Parse ``<field>:<op>:<value>`` (``<field>:<op>`` for is_set/is_unset)."""
    parts = raw.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise FilterError(FILTER_MALFORMED.format(param=param, raw=short(raw)), param=param)
    name, op = parts[0], parts[1]
    value = parts[2] if len(parts) == 3 else None
    return make_condition(name, op, value, schema=schema, param=param)


def parse_scope(raw: str | None) -> Scope:
    if not raw or raw == "workspace":
        return Scope()
    kind, _, ident = raw.partition(":")
    pk = parse_id(ident)
    if kind not in SCOPE_KINDS or pk is None:
        raise FilterError(FILTER_BAD_SCOPE.format(raw=raw), param="scope")
    return Scope(kind, pk)


def parse_sort(raw: str | None, *, schema: Schema) -> Sort:
    if not raw:
        return Sort()
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name == "title" or name in MEDIA_FIELDS:
        return Sort(name, descending)
    declared = name[len(META_PREFIX) :] if name.startswith(META_PREFIX) else name
    spec = schema.get(declared)
    if spec is None or spec.is_multi_enum:
        raise FilterError(FILTER_BAD_SORT.format(field=name), param="sort")
    return Sort(declared, descending)


def getlist(params: Any, key: str) -> list[str]:
    """Every value of `key` in a QueryDict, or in a plain mapping of lists (or of single values)."""
    if hasattr(params, "getlist"):
        return [v for v in params.getlist(key)]
    value = params.get(key, [])
    return list(value) if isinstance(value, list | tuple) else [value]


def getone(params: Any, key: str) -> str | None:
    """The last non-empty value of `key`, or None."""
    values = [v for v in getlist(params, key) if v not in ("", None)]
    return values[-1] if values else None


def parse_query_string(params: Mapping[str, Any], *, schema: Schema) -> Query:
    """Parse ``f``, ``any``, ``scope`` and ``sort`` from a QueryDict (or a dict of lists).

    Empty ``f=`` parameters (an empty form field) are ignored. Raises FilterError.
    """
    conditions: dict[str, list[Condition]] = {"f": [], "any": []}
    for key in ("f", "any"):
        raws = [r for r in getlist(params, key) if r.strip()]
        if len(raws) > MAX_CONDITIONS:
            raise FilterError(FILTER_TOO_MANY.format(param=key, limit=MAX_CONDITIONS), param=key)
        for raw in raws:
            conditions[key].append(parse_condition(raw, schema=schema, param=f"{key}={short(raw)}"))
    return Query(
        all=tuple(conditions["f"]),
        any=tuple(conditions["any"]),
        scope=parse_scope(getone(params, "scope")),
        sort=parse_sort(getone(params, "sort"), schema=schema),
    )


def parse_json(data: Any, *, schema: Schema) -> Query:
    """Parse the JSON form (see the package docstring). Raises FilterError."""
    if not isinstance(data, dict):
        raise FilterError(FILTER_BAD_JSON.format(param="body", problem="expected a JSON object"), param="body")
    unknown = set(data) - {"all", "any", "scope", "sort"}
    if unknown:
        raise FilterError(
            FILTER_BAD_JSON.format(param="body", problem=f"unknown keys {sorted(unknown)}; expected all, any, scope, sort"),
            param="body",
        )
    groups: dict[str, list[Condition]] = {"all": [], "any": []}
    for key in ("all", "any"):
        raw_list = data.get(key) or []
        if not isinstance(raw_list, list):
            raise FilterError(FILTER_BAD_JSON.format(param=key, problem="expected a list of conditions"), param=key)
        if len(raw_list) > MAX_CONDITIONS:
            raise FilterError(FILTER_TOO_MANY.format(param=key, limit=MAX_CONDITIONS), param=key)
        for index, raw in enumerate(raw_list):
            param = f"{key}[{index}]"
            if not isinstance(raw, dict) or not isinstance(raw.get("field"), str) or not isinstance(raw.get("op"), str):
                raise FilterError(
                    FILTER_BAD_JSON.format(param=param, problem='expected {"field": ..., "op": ..., "value": ...}'),
                    param=param,
                )
            groups[key].append(make_condition(raw["field"], raw["op"], raw.get("value"), schema=schema, param=param))
    scope, sort = data.get("scope"), data.get("sort")
    if scope is not None and not isinstance(scope, str):
        raise FilterError(FILTER_BAD_SCOPE.format(raw=scope), param="scope")
    if sort is not None and not isinstance(sort, str):
        raise FilterError(FILTER_BAD_SORT.format(field=sort), param="sort")
    return Query(
        all=tuple(groups["all"]), any=tuple(groups["any"]), scope=parse_scope(scope), sort=parse_sort(sort, schema=schema)
    )


def stored_query(data: Any) -> Query:
    """The query of a JSON form this package wrote (`Query.to_json`, a collection's or dataset's stored filter),
    read without the schema, for links only: its conditions are kept as written (typed values, field names with
    their ``meta.`` prefix), so ``to_params()`` writes the URL that parses back to it while the schema still has
    its fields (the explorer validates the link when it is opened). Entries that are not conditions are skipped."""
    data = data if isinstance(data, dict) else {}
    groups: dict[str, list[Condition]] = {"all": [], "any": []}
    for key in groups:
        for raw in data.get(key) or []:
            if isinstance(raw, dict) and isinstance(raw.get("field"), str) and isinstance(raw.get("op"), str):
                value = raw.get("value")
                value = tuple(value) if isinstance(value, list) else value
                # builtin=True: the name is written as it is (it already carries its prefix)
                groups[key].append(Condition(raw["field"], raw["op"], value, builtin=True))
    try:
        scope = parse_scope(data.get("scope") if isinstance(data.get("scope"), str) else None)
    except FilterError:
        scope = Scope()
    return Query(all=tuple(groups["all"]), any=tuple(groups["any"]), scope=scope)

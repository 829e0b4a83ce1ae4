"""THE filter language of metadata_site: parse, validate, compile, sort and page.

The explorer page, the API and collections all use this module; nothing else turns request input
into item queries.

Query-string form (explorer URLs and ``GET /api/.../items``)::

    f=<field>:<op>:<value>      a condition; repeated conditions combine with AND
    any=<field>:<op>:<value>    a condition of the OR group: at least one of them must hold
    scope=folder:<id> | dataset:<id> | collection:<id>     (absent: the whole workspace)
    sort=<field> | -<field>     a declared field or ``title``; ``-`` sorts descending
    after=<cursor>              keyset cursor: the page after this one (see `page_items`)

Values are URL-encoded; a list is comma-separated (``in``, ``has_*``), a range is ``<low>..<high>``
(``between``, inclusive at both ends); ``is_set``/``is_unset`` take no value (``f=camera:is_set``).

JSON form (the API's POST search; collections store it)::

    {"all": [{"field": "weather", "op": "in", "value": ["Sunny", "Rain"]},
             {"field": "temperature", "op": "between", "value": [10, 20]}],
     "any": [{"field": "dark", "op": "eq", "value": true}, ...],
     "scope": "folder:12",
     "sort": "-captured_at"}

Every key is optional. ``value`` may be given typed (numbers, booleans, lists) or as the same
strings the query string uses.

Limits (a 400 naming the parameter past them; they bound the work one request can ask of the database):
at most 50 conditions in ``f`` / ``all`` and 50 in ``any``, at most 100 values in a list, and a value of at
most 1,000 characters (a list's values together, as written in the query string); a field name or undeclared key
is at most 200 characters (`_resolve_field`, the one check of it).

Fields: every field the workspace schema declares, any *undeclared* key of the metadata (see below),
plus the built-ins ``title`` (string ops),
``kind`` (``eq``/``ne``/``in`` over image, video, image_group, frame), ``dataset`` and
``collection`` (``eq``/``in`` with ids: membership), ``frame_of`` (``eq``/``in`` with item uids: the
frames of an image group, the keyframe items of a video). A declared field whose name is also a
built-in is addressed as ``meta.<name>``.

Meaning (defined once, in plain Python, by `metadata_site.explorer.reference`):
- a field is *set* when the item's metadata holds a value of the field's declared type (a number
  for float/integer, true/false for boolean, a string for string/link/datetime/enum, a list for a
  multi enum); a missing key, null, or a value of another type is *unset*;
- every operator except ``is_unset`` matches only items where the field is set;
- ``contains`` is case-insensitive (ASCII letters), ``eq``/``startswith`` are case-sensitive;
- datetimes are compared in UTC at second precision (values are stored as ``YYYY-MM-DDTHH:MM:SSZ``);
  a date without a time (``2024-06-30``) means that whole day: ``eq`` finds the day's items, ``lte`` and the
  upper end of ``between`` include it, ``gt`` and ``lt`` exclude it (`datetime_terms`);
- sorting puts items where the field is unset last, in both directions; ties break by item id.

Undeclared keys (metadata that arrived before a schema): a name that is neither declared nor a
built-in filters the raw JSON value of that key, whatever its type, with ``eq ne in`` (the value
equals the text given: a string equal to it, a number equal to it when it is a JSON number, true or
false when it is ``true``/``false``; ``ne`` matches other strings, numbers and booleans), ``contains``
and ``startswith`` (strings only), ``lt lte gt gte between`` (numbers only; the value must be a
number) and ``is_set``/``is_unset`` (present and not null). These read every item's JSON (no
index); declaring the field makes them fast.

Public API:
    FilterError                             bad input; ``.param`` names the offending parameter
    Condition, Query, Scope, Sort           parsed, validated, typed values
    parse_query_string(params, *, schema)   QueryDict / mapping of lists  -> Query
    parse_json(data, *, schema)             dict (the JSON form)          -> Query
    make_condition(field, op, value, *, schema, param)     one validated Condition
    items_matching(query, *, schema, workspace)  -> QuerySet of the workspace's matching items
    filter_items(queryset, query, *, schema, workspace)   -> QuerySet (scope + filters, one query)
    filter_q(query, *, schema) / condition_q(condition, *, schema)  -> Q (no scope)
    page_items(queryset, query, *, schema, limit, after)  -> ItemPage(items, next_cursor, has_previous)
    neighbours(queryset, query, *, schema, item_id)  -> Neighbours(previous, next, found, start_cursor)
    register_scope(kind, resolver)           plug in a scope kind (collections may re-register
                                             ``collection``; live collections are built in)
    field_expression(spec)                   the typed SQL value of a declared field (indexes use it)
    Query.to_params() / Query.to_json()      back to the query-string / JSON form (round-trips)
    describe(condition)                      a short human label
"""

from __future__ import annotations

import base64
import json
import math
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from typing import Any

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.expressions import Expression
from django.db.models.functions import NullIf
from django.db.models.lookups import Lookup

from metadata_site.items.models import Item, ItemKind
from metadata_site.lib.userinput import parse_id, to_utc
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

# ----------------------------------------------------------------------------------------------
# Errors (messages are constants so tests can check them)

FILTER_MALFORMED = "{param}: expected <field>:<op>:<value>, got {raw!r}"
FILTER_UNKNOWN_FIELD = "{param}: unknown field {field!r} (not declared in the schema)"
FILTER_BAD_OPERATOR = "{param}: operator {op!r} is not allowed for {field!r} ({kind}); allowed: {allowed}"
FILTER_BAD_VALUE = "{param}: {field!r} expects {expected}, got {raw!r}"
FILTER_BAD_OPTION = "{param}: {value!r} is not an option of {field!r}; options: {options}"
FILTER_BAD_RANGE = "{param}: a range is <low>..<high>, got {raw!r}"
FILTER_EMPTY_RANGE = "{param}: the range {raw!r} is empty (low > high)"
FILTER_NO_VALUE = "{param}: operator {op!r} takes no value"
FILTER_NEEDS_VALUE = "{param}: operator {op!r} needs a value"
FILTER_BAD_SCOPE = "scope: expected folder:<id>, dataset:<id> or collection:<id>, got {raw!r}"
FILTER_BAD_SORT = "sort: cannot sort by {field!r}; sort by title or a declared field that is not a multi enum"
FILTER_BAD_CURSOR = "after: not a cursor of this sort ({raw!r})"
FILTER_BAD_JSON = "{param}: {problem}"
FILTER_TOO_MANY = "{param}: at most {limit} conditions"
FILTER_VALUE_TOO_LONG = "{param}: a filter value is at most {limit:,} characters, got {length:,}"
FILTER_BAD_KEY = "{param}: a metadata key is 1 to {limit} characters, got {length}"

MAX_CONDITIONS = 50
MAX_LIST = 100
MAX_VALUE_LENGTH = 1000
MAX_KEY_LENGTH = 200  # a field name or undeclared key (a declared field's name is at most 100 characters)
# Parameter names quote the condition; a longer one is cut so an error never echoes a huge input.
_LABEL_LENGTH = 80


class FilterError(ValueError):
    """Bad filter input. ``str(err)`` is a message for people; ``param`` names the parameter."""

    def __init__(self, message: str, *, param: str = "f"):
        super().__init__(message)
        self.message = message
        self.param = param


# ----------------------------------------------------------------------------------------------
# Operators by field type

EQ, NE, LT, LTE, GT, GTE, BETWEEN = "eq", "ne", "lt", "lte", "gt", "gte", "between"
CONTAINS, STARTSWITH, IN = "contains", "startswith", "in"
HAS_ANY, HAS_ALL, HAS_NONE = "has_any", "has_all", "has_none"
IS_SET, IS_UNSET = "is_set", "is_unset"

_ORDERED = (EQ, NE, LT, LTE, GT, GTE, BETWEEN, IS_SET, IS_UNSET)
OPERATORS: dict[str, tuple[str, ...]] = {
    "string": (EQ, NE, CONTAINS, STARTSWITH, IN, IS_SET, IS_UNSET),
    "link": (EQ, NE, CONTAINS, STARTSWITH, IS_SET, IS_UNSET),
    "float": _ORDERED,
    "integer": _ORDERED,
    "datetime": _ORDERED,
    "boolean": (EQ, NE, IS_SET, IS_UNSET),
    "enum": (EQ, NE, IN, IS_SET, IS_UNSET),
    "multi_enum": (HAS_ANY, HAS_ALL, HAS_NONE, IS_SET, IS_UNSET),
    # built-ins
    "title": (EQ, NE, CONTAINS, STARTSWITH),
    "kind": (EQ, NE, IN),
    "membership": (EQ, IN),
    "item": (EQ, IN),
    # a key no field declares: operators on its raw JSON value (see the module docstring)
    "undeclared": (EQ, NE, IN, CONTAINS, STARTSWITH, LT, LTE, GT, GTE, BETWEEN, IS_SET, IS_UNSET),
    "media_text": (EQ, NE, IN, STARTSWITH, IS_SET, IS_UNSET),
}
UNDECLARED = "undeclared"
_NO_VALUE = (IS_SET, IS_UNSET)
_LIST_OPS = (IN, HAS_ANY, HAS_ALL, HAS_NONE)

BUILTINS = ("title", "kind", "dataset", "collection", "frame_of")
META_PREFIX = "meta."

# The media properties the worker reads from the real bytes: built-in fields on real columns of Item, named with
# a leading "$" that no declared field can take (schemas refuse it), so they never clash with user metadata.
# Filterable and sortable like declared fields of their type; unset (NULL, or '' for text) until the worker ran.
MEDIA_FIELDS: dict[str, tuple[str, str]] = {
    "$width": ("width", "integer"),
    "$height": ("height", "integer"),
    "$duration": ("duration", "float"),
    "$fps": ("fps", "float"),
    "$frame_count": ("frame_count", "integer"),
    "$file_size": ("file_size", "integer"),
    "$content_type": ("content_type", "media_text"),
    "$media_status": ("media_status", "media_text"),
    # The id of the item's near-duplicate group's representative (media.lookalike): `$dup_group:is_set` is
    # "has near-duplicates", `$dup_group:eq:<id>` one group.
    "$dup_group": ("dup_group", "integer"),
}

MEDIA_SORT_LABELS = {"$width": "width (media)", "$height": "height (media)", "$duration": "duration (media)",
                     "$file_size": "file size (media)"}


def media_expression(name: str):
    """The column of a media field; text columns read '' as NULL (unset), as declared fields do."""
    column, family = MEDIA_FIELDS[name]
    return NullIf(F(column), Value("")) if family == "media_text" else F(column)


def type_key(spec: FieldSpec) -> str:
    """The operator family of a declared field: its type, or ``multi_enum``."""
    return "multi_enum" if spec.is_multi_enum else str(spec.type)


def operators_for(spec: FieldSpec) -> tuple[str, ...]:
    return OPERATORS[type_key(spec)]


# ----------------------------------------------------------------------------------------------
# Parsed values


@dataclass(frozen=True)
class Condition:
    """One validated condition. ``field`` is a declared field name, a built-in (``builtin``), or a key
    no field declares (``undeclared``: its value is text, or a number for the ordered operators)."""

    field: str
    op: str
    value: Any = None
    builtin: bool = False
    undeclared: bool = False

    def to_param(self) -> str:
        """The ``<field>:<op>:<value>`` form (unencoded), parseable back to this condition."""
        name = self.field if self.builtin or self.field not in BUILTINS else META_PREFIX + self.field
        if self.op in _NO_VALUE:
            return f"{name}:{self.op}"
        return f"{name}:{self.op}:{_format_value(self.op, self.value)}"

    def to_json(self) -> dict:
        name = self.field if self.builtin or self.field not in BUILTINS else META_PREFIX + self.field
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": name, "op": self.op, "value": value}


@dataclass(frozen=True)
class Scope:
    """Where to look: the workspace (kind ``workspace``), a folder with its subfolders, a dataset, a collection."""

    kind: str = "workspace"
    id: int | None = None

    def to_param(self) -> str:
        return "" if self.kind == "workspace" else f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Sort:
    """Sort key: a declared field, ``title``, or None (item id, the default); ties break by id."""

    field: str | None = None
    descending: bool = False

    def to_param(self) -> str:
        if self.field is None:
            return ""
        return ("-" if self.descending else "") + self.field


@dataclass(frozen=True)
class Query:
    """A whole explorer/API request: AND conditions, an OR group, a scope and a sort."""

    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    scope: Scope = field(default_factory=Scope)
    sort: Sort = field(default_factory=Sort)

    def to_params(self) -> list[tuple[str, str]]:
        """Query-string pairs (``f``, ``any``, ``scope``, ``sort``) that parse back to this query."""
        pairs = [("f", c.to_param()) for c in self.all] + [("any", c.to_param()) for c in self.any]
        if self.scope.kind != "workspace":
            pairs.append(("scope", self.scope.to_param()))
        if self.sort.field is not None:
            pairs.append(("sort", self.sort.to_param()))
        return pairs

    def to_json(self) -> dict:
        data: dict[str, Any] = {"all": [c.to_json() for c in self.all], "any": [c.to_json() for c in self.any]}
        if self.scope.kind != "workspace":
            data["scope"] = self.scope.to_param()
        if self.sort.field is not None:
            data["sort"] = self.sort.to_param()
        return data

    def without(self, *, field_name: str) -> Query:
        """This query without the AND conditions on `field_name` (facet counts "under the other filters")."""
        return replace(self, all=tuple(c for c in self.all if c.field != field_name))

    @property
    def is_filtered(self) -> bool:
        return bool(self.all or self.any)


# ----------------------------------------------------------------------------------------------
# Value coercion by declared type (never by looking at data)

_EXPECTED = {
    "float": "a number",
    "integer": "an integer",
    "datetime": "an ISO 8601 date or datetime (UTC when no offset)",
    "boolean": "true or false",
    "string": "a string",
    "link": "a string",
    "enum": "one of the options",
    "multi_enum": "options",
    "title": "a string",
    "kind": "an item kind",
    "membership": "an id",
    "item": "an item's media id (a UUID)",
    "undeclared": "a value",
    "undeclared_number": "a number (an undeclared key compares numbers only)",
    "media_text": "a string",
}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _bad(param: str, name: str, family: str, raw: Any) -> FilterError:
    return FilterError(FILTER_BAD_VALUE.format(param=param, field=name, expected=_EXPECTED[family], raw=raw), param=param)


def normalize_datetime(raw: Any) -> str | None:
    """An ISO 8601 date/datetime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, or None when it is not one."""
    if isinstance(raw, datetime):
        dt = raw
    elif isinstance(raw, date):
        dt = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    utc = to_utc(dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC))
    return None if utc is None else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def filter_datetime(raw: Any) -> str | None:
    """A datetime filter value: a date without a time stays a date (``YYYY-MM-DD``, the whole day), anything else
    is `normalize_datetime`'d; None when it is neither."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw.isoformat()
    if isinstance(raw, str) and _DATE_ONLY.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            return None
    return normalize_datetime(raw)


def is_day(value: Any) -> bool:
    """A datetime filter value that is a whole day (a date without a time)."""
    return isinstance(value, str) and len(value) == 10


def _day_after(day: str) -> str:
    try:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    except OverflowError:  # 9999-12-31: any text of that day sorts below this one
        return "9999-13"


def datetime_terms(op: str, value: Any) -> tuple[bool, list[tuple[str, str]]]:
    """A datetime condition as comparisons of the stored text (``any``, [(op, bound), ...]): all must hold, or
    with ``any`` one of them. A day D is the texts from ``D`` (inclusive) to the next day (exclusive), which is
    every stored time of that day, fractions of a second included. The compiler, the projection and the
    reference evaluator all read a datetime condition through this one function."""
    if op == BETWEEN:
        low, high = value
        return False, [(GTE, low), (LT, _day_after(high)) if is_day(high) else (LTE, high)]
    if not is_day(value):
        return False, [(op, value)]
    after = _day_after(value)
    return {
        EQ: (False, [(GTE, value), (LT, after)]),
        NE: (True, [(LT, value), (GTE, after)]),
        LT: (False, [(LT, value)]),
        LTE: (False, [(LT, after)]),
        GT: (False, [(GTE, after)]),
        GTE: (False, [(GTE, value)]),
    }[op]


def _empty_range(family: str, low: Any, high: Any) -> bool:
    if family == "datetime" and is_day(high):
        return low >= _day_after(high)
    return low > high


def _coerce_scalar(family: str, raw: Any, *, param: str, name: str, spec: FieldSpec | None) -> Any:
    if family in ("float", "integer"):
        if isinstance(raw, bool):
            raise _bad(param, name, family, raw)
        try:
            number = float(raw) if not isinstance(raw, int | float) else raw
        except (TypeError, ValueError):
            raise _bad(param, name, family, raw) from None
        if not math.isfinite(number):
            raise _bad(param, name, family, raw)
        if family == "integer":
            if float(number) != int(number):
                raise _bad(param, name, family, raw)
            return int(number)
        return float(number)
    if family == "datetime":
        value = filter_datetime(raw)
        if value is None:
            raise _bad(param, name, family, raw)
        return value
    if family == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _bad(param, name, family, raw)
    if family in ("enum", "multi_enum"):
        if not isinstance(raw, str) or raw not in spec.options:
            raise FilterError(
                FILTER_BAD_OPTION.format(param=param, value=raw, field=name, options=", ".join(spec.options)), param=param
            )
        return raw
    if family == "kind":
        if raw not in ItemKind.values:
            raise FilterError(
                FILTER_BAD_OPTION.format(param=param, value=raw, field=name, options=", ".join(ItemKind.values)),
                param=param,
            )
        return raw
    if family == UNDECLARED:
        return _coerce_undeclared(raw, param=param, name=name)
    if family == "undeclared_number":
        if isinstance(raw, bool) or (isinstance(raw, str) and undeclared_number(raw) is None):
            raise _bad(param, name, family, raw)
        return _coerce_scalar("float", raw, param=param, name=name, spec=None)
    if family == "item":
        try:
            return str(uuid.UUID(str(raw).strip()))
        except ValueError:
            raise _bad(param, name, family, raw) from None
    if family == "membership":
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise _bad(param, name, family, raw) from None
        if number <= 0:
            raise _bad(param, name, family, raw)
        return number
    # string, link, title
    if not isinstance(raw, str) or raw == "":
        raise _bad(param, name, family, raw)
    return raw


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def undeclared_number(text: str) -> float | None:
    """The number a filter text means for an undeclared key (JSON number syntax, finite), or None."""
    if not _JSON_NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _coerce_undeclared(raw: Any, *, param: str, name: str) -> str:
    """An undeclared key's equality/text value as text: JSON numbers and booleans as they print."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise _bad(param, name, UNDECLARED, raw)
        return _format_scalar(raw)
    if not isinstance(raw, str) or raw == "":
        raise _bad(param, name, UNDECLARED, raw)
    return raw


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


def _format_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _format_value(op: str, value: Any) -> str:
    if op == BETWEEN:
        return f"{_format_scalar(value[0])}..{_format_scalar(value[1])}"
    if op in _LIST_OPS:
        return ",".join(_format_scalar(v) for v in value)
    return _format_scalar(value)


# ----------------------------------------------------------------------------------------------
# Parsing


def _resolve_field(name: str, *, schema: Schema, param: str) -> tuple[str, FieldSpec | None, bool]:
    """(field name, its spec or None for a built-in or an undeclared key, is_builtin)."""
    if name in MEDIA_FIELDS:
        return name, None, True
    if name.startswith("$"):  # reserved for media fields (no declared field takes it): a typo, not a key
        raise FilterError(FILTER_UNKNOWN_FIELD.format(param=param, field=_short(name)), param=param)
    key = name[len(META_PREFIX) :] if name.startswith(META_PREFIX) and name[len(META_PREFIX) :] in BUILTINS else None
    if key is None and name in BUILTINS:
        return name, None, True
    key = name if key is None else key
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise FilterError(FILTER_BAD_KEY.format(param=param, limit=MAX_KEY_LENGTH, length=len(key)), param=param)
    return key, schema.get(key), False


def _family(name: str, spec: FieldSpec | None, builtin: bool = True) -> str:
    if spec is not None:
        return type_key(spec)
    if name in MEDIA_FIELDS:
        return MEDIA_FIELDS[name][1]
    if not builtin:
        return UNDECLARED
    return {"title": "title", "kind": "kind", "dataset": "membership", "collection": "membership", "frame_of": "item"}[name]


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_LENGTH else text[: _LABEL_LENGTH - 1] + "…"


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
    field_name, spec, builtin = _resolve_field(name, schema=schema, param=param)
    family = _family(field_name, spec, builtin)
    undeclared = family == UNDECLARED
    allowed = OPERATORS[family]
    if op not in allowed:
        kind = "multi enum" if family == "multi_enum" else family
        raise FilterError(
            FILTER_BAD_OPERATOR.format(param=param, op=_short(op), field=name, kind=kind, allowed=", ".join(allowed)),
            param=param,
        )
    if op in _NO_VALUE:
        if raw not in (None, ""):
            raise FilterError(FILTER_NO_VALUE.format(param=param, op=op), param=param)
        return Condition(field_name, op, None, builtin, undeclared)
    if raw is None or raw == "" or raw == []:
        raise FilterError(FILTER_NEEDS_VALUE.format(param=param, op=op), param=param)
    if undeclared and op in (LT, LTE, GT, GTE, BETWEEN):
        family = "undeclared_number"

    def one(v: Any) -> Any:
        return _coerce_scalar(family, v, param=param, name=name, spec=spec)

    if op == BETWEEN:
        low, high = (one(v) for v in _split_range(raw, param=param))
        if _empty_range(family, low, high):
            raise FilterError(FILTER_EMPTY_RANGE.format(param=param, raw=_format_value(BETWEEN, (low, high))), param=param)
        return Condition(field_name, op, (low, high), builtin, undeclared)
    if op in _LIST_OPS:
        items = _split_list(raw)
        if len(items) > MAX_LIST:
            raise FilterError(FILTER_TOO_MANY.format(param=param, limit=MAX_LIST), param=param)
        values = tuple(dict.fromkeys(one(v) for v in items))
        if not values:
            raise FilterError(FILTER_NEEDS_VALUE.format(param=param, op=op), param=param)
        return Condition(field_name, op, values, builtin, undeclared)
    if isinstance(raw, list | tuple | dict):
        raise _bad(param, name, family, raw)
    return Condition(field_name, op, one(raw), builtin, undeclared)


def parse_condition(raw: str, *, schema: Schema, param: str = "f") -> Condition:
    """Parse ``<field>:<op>:<value>`` (``<field>:<op>`` for is_set/is_unset)."""
    parts = raw.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise FilterError(FILTER_MALFORMED.format(param=param, raw=_short(raw)), param=param)
    name, op = parts[0], parts[1]
    value = parts[2] if len(parts) == 3 else None
    return make_condition(name, op, value, schema=schema, param=param)


def parse_scope(raw: str | None) -> Scope:
    if not raw or raw == "workspace":
        return Scope()
    kind, _, ident = raw.partition(":")
    pk = parse_id(ident)
    if kind not in ("folder", "dataset", "collection") or pk is None:
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


def _getlist(params: Any, key: str) -> list[str]:
    if hasattr(params, "getlist"):
        return [v for v in params.getlist(key)]
    value = params.get(key, [])
    return list(value) if isinstance(value, list | tuple) else [value]


def _getone(params: Any, key: str) -> str | None:
    values = [v for v in _getlist(params, key) if v not in ("", None)]
    return values[-1] if values else None


def parse_query_string(params: Mapping[str, Any], *, schema: Schema) -> Query:
    """Parse ``f``, ``any``, ``scope`` and ``sort`` from a QueryDict (or a dict of lists).

    Empty ``f=`` parameters (an empty form field) are ignored. Raises FilterError.
    """
    conditions: dict[str, list[Condition]] = {"f": [], "any": []}
    for key in ("f", "any"):
        raws = [r for r in _getlist(params, key) if r.strip()]
        if len(raws) > MAX_CONDITIONS:
            raise FilterError(FILTER_TOO_MANY.format(param=key, limit=MAX_CONDITIONS), param=key)
        for raw in raws:
            conditions[key].append(parse_condition(raw, schema=schema, param=f"{key}={_short(raw)}"))
    return Query(
        all=tuple(conditions["f"]),
        any=tuple(conditions["any"]),
        scope=parse_scope(_getone(params, "scope")),
        sort=parse_sort(_getone(params, "sort"), schema=schema),
    )


def parse_json(data: Any, *, schema: Schema) -> Query:
    """Parse the JSON form (see the module docstring). Raises FilterError."""
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


# ----------------------------------------------------------------------------------------------
# SQL: the typed value of a declared field. Indexes are built on exactly these expressions.


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pg_value_sql(column: str, spec: FieldSpec) -> str:
    """PostgreSQL expression: the field's value when it has the declared type, else NULL.

    Text is compared in the "C" collation (code-point order, the same as SQLite and Python).
    Returned without %-escaping: callers that pass it through a parametrised query escape ``%``.
    """
    key = _sql_literal(spec.name)
    raw = f"({column} -> {key})"
    family = type_key(spec)
    if family in ("float", "integer"):
        return f"(CASE WHEN jsonb_typeof{raw} = 'number' THEN ({column} ->> {key})::double precision END)"
    if family == "boolean":
        return f"(CASE WHEN jsonb_typeof{raw} = 'boolean' THEN ({column} ->> {key})::boolean END)"
    if family == "multi_enum":
        return f"(CASE WHEN jsonb_typeof{raw} = 'array' THEN {raw} END)"
    return f"(CASE WHEN jsonb_typeof{raw} = 'string' THEN ({column} ->> {key}) END) COLLATE \"C\""


def _sqlite_path(spec: FieldSpec) -> str:
    # A quoted label: dots and spaces in field names are part of the key.
    return _sql_literal('$."' + spec.name.replace('"', '""') + '"')


def sqlite_value_sql(column: str, spec: FieldSpec) -> str:
    """SQLite expression: the field's value when it has the declared type, else NULL (arrays as JSON text)."""
    path = _sqlite_path(spec)
    jtype = f"json_type({column}, {path})"
    family = type_key(spec)
    if family in ("float", "integer"):
        return f"(CASE WHEN {jtype} IN ('integer', 'real') THEN json_extract({column}, {path}) END)"
    if family == "boolean":
        return f"(CASE {jtype} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
    if family == "multi_enum":
        return f"(CASE WHEN {jtype} = 'array' THEN json_extract({column}, {path}) END)"
    return f"(CASE WHEN {jtype} = 'text' THEN json_extract({column}, {path}) END)"


_HINTABLE = re.compile(r"^[A-Za-z0-9 _.:/+-]+$")


_PLAIN_TEXT = re.compile(r"^[A-Za-z0-9 _.:+-]+$")


def _hintable(option: str) -> bool:
    """Options JSON writes the same way everywhere (no escapes), so a text test is exact."""
    return bool(_HINTABLE.match(option))


def sqlite_has_predicate(column: str, spec: FieldSpec, option: str) -> str | None:
    """SQLite: "the multi enum holds `option`" as the predicate of a partial index, or None."""
    if not _hintable(option):
        return None
    path = _sqlite_path(spec)
    return f"json_type({column}, {path}) = 'array' AND {_sqlite_element_test(column, spec, option)}"


def _sqlite_element_test(column: str, spec: FieldSpec, option: str) -> str:
    text = f"json_extract({column}, {_sqlite_path(spec)})"
    quoted = json.dumps(option)
    patterns = [f"[{quoted}]", f"[{quoted},", f",{quoted},", f",{quoted}]"]
    return "(" + " OR ".join(f"instr({text}, {_sql_literal(p)}) > 0" for p in patterns) + ")"


_OUTPUT = {
    "float": models.FloatField,
    "integer": models.FloatField,
    "boolean": models.BooleanField,
    "multi_enum": models.JSONField,
}


class FieldValue(Expression):
    """The typed value of a declared field (NULL when unset). Use in filters, order_by and aggregates."""

    def __init__(self, spec: FieldSpec, column: str = "client_metadata"):
        super().__init__(output_field=_OUTPUT.get(type_key(spec), models.TextField)())
        self.spec = spec
        self.column = F(column)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return pg_value_sql(col, self.spec).replace("%", "%%"), params
        return sqlite_value_sql(col, self.spec).replace("%", "%%"), params

    def __repr__(self) -> str:
        return f"FieldValue({self.spec.name!r})"

    @property
    def identity(self):
        return (self.__class__, self.spec, str(self.column))

    def __eq__(self, other):
        return isinstance(other, FieldValue) and other.spec == self.spec

    def __hash__(self):
        return hash((self.__class__, self.spec))


def field_expression(spec: FieldSpec) -> FieldValue:
    return FieldValue(spec)


class _Where(Lookup):
    """A WHERE condition with per-vendor SQL. A Lookup, so Django puts it in WHERE as is: a bare
    conditional expression would be compared with ``= true`` on SQLite, which hides it from indexes."""

    prepare_rhs = False
    can_use_none_as_rhs = True
    output_field = models.BooleanField()

    def __init__(self, lhs, rhs=None):
        super().__init__(lhs, rhs)

    @property
    def expr(self):
        return self.lhs

    @expr.setter
    def expr(self, value):
        self.lhs = value

    column = expr

    def as_sql(self, compiler, connection):  # pragma: no cover - every subclass defines it
        raise NotImplementedError


class _RawCondition(_Where):
    """A boolean SQL condition on a field, per vendor (multi-enum membership, case-insensitive contains)."""

    def __init__(self, spec: FieldSpec, op: str, value: Any):
        super().__init__(F("client_metadata"), (spec.name, op, value))
        self.spec, self.op, self.value = spec, op, value

    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        params = list(params)
        if connection.vendor == "postgresql":
            sql, extra = self._pg(col)
        else:
            sql, extra = self._sqlite(col)
        return sql, (*params, *extra)

    def _pg(self, col: str) -> tuple[str, list]:
        spec, op, value = self.spec, self.op, self.value
        if op == CONTAINS:
            expr = pg_value_sql(col, spec).replace("%", "%%")
            return f"{expr} ILIKE %s", [_like_pattern(value)]
        raw = f"({col} -> {_sql_literal(spec.name).replace('%', '%%')})"
        if op == HAS_ALL:
            return f"{raw} @> %s::jsonb", [json.dumps(list(value))]
        anyof = " OR ".join(f"{raw} @> %s::jsonb" for _ in value)
        if op == HAS_ANY:
            return f"({anyof})", [json.dumps([v]) for v in value]
        # has_none: an array holding none of them
        return f"(jsonb_typeof{raw} = 'array' AND NOT ({anyof}))", [json.dumps([v]) for v in value]

    def _sqlite(self, col: str) -> tuple[str, list]:
        spec, op, value = self.spec, self.op, self.value
        if op == CONTAINS:
            expr = sqlite_value_sql(col, spec).replace("%", "%%")
            if _PLAIN_TEXT.match(value):
                # JSON writes such a needle verbatim, so the raw document must contain it: a cheap
                # LIKE over the text rejects most rows before the JSON is parsed.
                return f"({col} LIKE %s ESCAPE '\\' AND {expr} LIKE %s ESCAPE '\\')", [_like_pattern(value)] * 2
            return f"{expr} LIKE %s ESCAPE '\\'", [_like_pattern(value)]
        path = _sqlite_path(spec).replace("%", "%%")
        marks = ", ".join(["%s"] * len(value))
        is_array = f"json_type({col}, {path}) = 'array'"
        matching = f"SELECT value FROM json_each({col}, {path}) WHERE json_each.type = 'text' AND json_each.value IN ({marks})"
        if all(_hintable(v) for v in value):
            # Exact test on the array's minified JSON text (see _sqlite_element_test); for one
            # option it is, term for term, the predicate of that option's partial index.
            exact = [_sqlite_element_test(col, spec, v).replace("%", "%%") for v in value]
            if op == HAS_ANY:
                return f"({is_array} AND ({' OR '.join(exact)}))", []
            if op == HAS_ALL:
                return f"({is_array} AND {' AND '.join(exact)})", []
            return f"({is_array} AND NOT ({' OR '.join(exact)}))", []
        if op == HAS_ANY:
            return f"({is_array} AND EXISTS ({matching}))", list(value)
        if op == HAS_ALL:
            return (
                f"({is_array} AND (SELECT COUNT(DISTINCT value) FROM ({matching})) = {len(value)})",
                list(value),
            )
        return f"({is_array} AND NOT EXISTS ({matching}))", list(value)

    def __repr__(self) -> str:
        return f"_RawCondition({self.spec.name!r}, {self.op!r})"


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards and escape character escaped (backslash), to match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_pattern(text: str) -> str:
    return f"%{like_escape(text)}%"


# ----------------------------------------------------------------------------------------------
# Compiling conditions


_SQL_OPS = {EQ: "=", NE: "<>", LT: "<", LTE: "<=", GT: ">", GTE: ">="}


class _Cmp(_Where):
    """``expr <op> value`` / ``expr IN (...)``; NULL (unset) never matches."""

    def __init__(self, expr, op: str, value: Any):
        super().__init__(expr, (op, value))
        self.op, self.value = op, value

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        if self.op == IN:
            # OR of equalities, not IN (...): PostgreSQL matches each to an option's partial index.
            sql_or = " OR ".join([f"{sql} = %s"] * len(self.value))
            return f"({sql_or})", tuple(x for v in self.value for x in (*params, v))
        return f"{sql} {_SQL_OPS[self.op]} %s", (*params, self.value)


def _compare(expr: Any, op: str, value: Any) -> Q:
    if op in _SQL_OPS or op == IN:
        return Q(_Cmp(expr, op, value))
    if op == BETWEEN:
        return Q(_Cmp(expr, GTE, value[0])) & Q(_Cmp(expr, LTE, value[1]))
    if op == IS_SET:
        return Q(_NotNull(expr))
    if op == IS_UNSET:
        return Q(_IsNull(expr))
    raise AssertionError(op)


class _IsNull(_Where):

    def __init__(self, expr, negated: bool = False):
        super().__init__(expr, negated)
        self.negated = negated

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        return f"{sql} IS {'NOT ' if self.negated else ''}NULL", params


def _NotNull(expr) -> _IsNull:  # noqa: N802 - reads like the SQL it makes
    return _IsNull(expr, negated=True)


def _title_q(op: str, value: Any) -> Q:
    if op == EQ:
        return Q(title=value)
    if op == NE:
        return ~Q(title=value)
    if op == CONTAINS:
        return Q(_TitleContains(value))
    return Q(_TitleStartswith(value))


class _TitleContains(_Where):

    def __init__(self, value: str):
        super().__init__(F("title"), value)
        self.value = value

    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            # The C collation folds ASCII letters only, as SQLite's LIKE does.
            return f"{col} COLLATE \"C\" ILIKE %s", (*params, _like_pattern(self.value))
        return f"{col} LIKE %s ESCAPE '\\'", (*params, _like_pattern(self.value))


class _TitleStartswith(_TitleContains):
    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        return f"substr({col}, 1, %s) = %s", (*params, len(self.value), self.value)


def condition_q(condition: Condition, *, schema: Schema) -> Q:
    """The Q of one validated condition (scope-free)."""
    c = condition
    if c.builtin:
        if c.field in MEDIA_FIELDS:
            expr = media_expression(c.field)
            return Q(_Startswith(expr, c.value)) if c.op == STARTSWITH else _compare(expr, c.op, c.value)
        if c.field == "title":
            return _title_q(c.op, c.value)
        if c.field == "kind":
            if c.op == EQ:
                return Q(kind=c.value)
            if c.op == NE:
                return ~Q(kind=c.value)
            return Q(kind__in=list(c.value))
        ids = [c.value] if c.op == EQ else list(c.value)
        if c.field == "frame_of":
            return Q(parent_id__in=Item.objects.filter(uid__in=ids).values("id"))
        if c.field == "dataset":
            from metadata_site.projects.models import DatasetItem

            return Q(Exists(DatasetItem.objects.filter(item=OuterRef("pk"), dataset_id__in=ids)))
        from metadata_site.collections.models import CollectionItem

        return Q(Exists(CollectionItem.objects.filter(item=OuterRef("pk"), collection_id__in=ids)))
    spec = schema.get(c.field)
    if spec is None:
        if c.undeclared:
            return _undeclared_q(c)
        raise FilterError(FILTER_UNKNOWN_FIELD.format(param="f", field=c.field))
    family = type_key(spec)
    if family == "multi_enum" and c.op in (HAS_ANY, HAS_ALL, HAS_NONE):
        return Q(_RawCondition(spec, c.op, c.value))
    if c.op == CONTAINS:
        return Q(_RawCondition(spec, c.op, c.value))
    expr = FieldValue(spec)
    if c.op == STARTSWITH:
        return Q(_Startswith(expr, c.value))
    if family == "boolean" and c.op in (EQ, NE):
        # Booleans compare as literals so PostgreSQL can match per-value partial indexes.
        wanted = c.value if c.op == EQ else not c.value
        return Q(_BoolIs(expr, wanted))
    if family == "datetime" and (c.op in _SQL_OPS or c.op == BETWEEN):
        any_of, terms = datetime_terms(c.op, c.value)
        parts = [Q(_Cmp(expr, op, bound)) for op, bound in terms]
        return reduce(operator.or_ if any_of else operator.and_, parts)
    return _compare(expr, c.op, c.value)


class _Startswith(_Where):

    def __init__(self, expr, value: str):
        super().__init__(expr, value)
        self.value = value

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        if connection.vendor == "postgresql":
            # LIKE 'prefix%' in the C collation: usable by the field's B-tree and trigram indexes.
            return f"{sql} LIKE %s", (*params, like_escape(self.value) + "%")
        return f"substr({sql}, 1, %s) = %s", (*params, len(self.value), self.value)


class _BoolIs(_Where):

    def __init__(self, expr, wanted: bool):
        super().__init__(expr, wanted)
        self.wanted = wanted

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expr)
        if connection.vendor == "postgresql":
            return f"{sql} = {'true' if self.wanted else 'false'}", params
        return f"{sql} = {1 if self.wanted else 0}", params


def _undeclared_q(c: Condition) -> Q:
    """An undeclared key's condition as typed reads of its JSON value (the declared fields' own SQL,
    for a string, a number and a boolean reading of the key): no index serves it."""
    as_text = FieldValue(FieldSpec(c.field, FieldType.STRING))
    as_number = FieldValue(FieldSpec(c.field, FieldType.FLOAT))
    as_bool = FieldValue(FieldSpec(c.field, FieldType.BOOLEAN))
    if c.op in (IS_SET, IS_UNSET):
        return Q(_KeyPresent(c.field, negated=c.op == IS_UNSET))
    if c.op in (LT, LTE, GT, GTE, BETWEEN):
        return _compare(as_number, c.op, c.value)
    if c.op == CONTAINS:
        return Q(_RawCondition(FieldSpec(c.field, FieldType.STRING), CONTAINS, c.value))
    if c.op == STARTSWITH:
        return Q(_Startswith(as_text, c.value))

    def equals(text: str) -> Q:
        q = Q(_Cmp(as_text, EQ, text))
        number = undeclared_number(text)
        if number is not None:
            q |= Q(_Cmp(as_number, EQ, number))
        if text in ("true", "false"):
            q |= Q(_BoolIs(as_bool, text == "true"))
        return q

    if c.op == EQ:
        return equals(c.value)
    if c.op == IN:
        q = Q()
        for text in c.value:
            q |= equals(text)
        return q
    # ne: a string, number or boolean that is not equal
    number = undeclared_number(c.value)
    q = Q(_Cmp(as_text, NE, c.value))
    q |= Q(_Cmp(as_number, NE, number)) if number is not None else Q(_NotNull(as_number))
    q |= Q(_BoolIs(as_bool, c.value != "true")) if c.value in ("true", "false") else Q(_NotNull(as_bool))
    return q


class _KeyPresent(_Where):
    """The key is present with a non-null value (any JSON type)."""

    def __init__(self, key: str, negated: bool = False):
        super().__init__(F("client_metadata"), (key, negated))
        self.key, self.negated = key, negated

    def as_sql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            jtype = f"jsonb_typeof({col} -> {_sql_literal(self.key)})"
        else:
            jtype = f"json_type({col}, {_sqlite_path(FieldSpec(self.key, FieldType.STRING))})"
        test = "=" if self.negated else "<>"
        return f"COALESCE({jtype}, 'null') {test} 'null'".replace("%", "%%"), params


def filter_q(query: Query, *, schema: Schema) -> Q:
    """The Q of a query's conditions (AND of `all`, plus at least one of `any`)."""
    q = Q()
    for c in query.all:
        q &= condition_q(c, schema=schema)
    if query.any:
        group = Q()
        for c in query.any:
            group |= condition_q(c, schema=schema)
        q &= group
    return q


# ----------------------------------------------------------------------------------------------
# Scopes

ScopeResolver = Callable[[Any, "Scope", Schema], Q]
_SCOPES: dict[str, ScopeResolver] = {}


def register_scope(kind: str, resolver: ScopeResolver) -> None:
    """Register how a scope kind narrows items: ``resolver(workspace, scope, schema) -> Q``.

    The resolver raises FilterError (param ``scope``) when the object does not exist in the
    workspace. The collections app may re-register ``collection`` to evaluate live collections
    (their stored filter, parsed with `parse_json`, compiled with `filter_q`).
    """
    _SCOPES[kind] = resolver


SCOPE_NOT_FOUND = "scope: no {kind} {id} in this workspace"


def _folder_scope(workspace, scope: Scope, schema: Schema) -> Q:
    from metadata_site.projects.models import Folder

    folder = Folder.objects.filter(workspace=workspace, pk=scope.id).first()
    if folder is None:
        raise FilterError(SCOPE_NOT_FOUND.format(kind="folder", id=scope.id), param="scope")
    return Q(folder_id__in=folder.descendant_ids(include_self=True))


def _dataset_scope(workspace, scope: Scope, schema: Schema) -> Q:
    from metadata_site.projects.models import Dataset, DatasetItem

    if not Dataset.objects.filter(workspace=workspace, pk=scope.id).exists():
        raise FilterError(SCOPE_NOT_FOUND.format(kind="dataset", id=scope.id), param="scope")
    return Q(Exists(DatasetItem.objects.filter(item=OuterRef("pk"), dataset_id=scope.id)))


def _collection_scope(workspace, scope: Scope, schema: Schema) -> Q:
    from metadata_site.collections.models import Collection, CollectionItem, CollectionKind

    collection = Collection.objects.filter(workspace=workspace, pk=scope.id).first()
    if collection is None:
        raise FilterError(SCOPE_NOT_FOUND.format(kind="collection", id=scope.id), param="scope")
    if collection.kind == CollectionKind.LIVE:
        saved = parse_json({k: v for k, v in (collection.filter or {}).items() if k in ("all", "any", "scope")}, schema=schema)
        inner = Q()
        if saved.scope.kind not in ("workspace", "collection"):
            inner &= scope_q(workspace, saved.scope, schema=schema)
        return inner & filter_q(saved, schema=schema)
    return Q(Exists(CollectionItem.objects.filter(item=OuterRef("pk"), collection_id=scope.id)))


register_scope("folder", _folder_scope)
register_scope("dataset", _dataset_scope)
register_scope("collection", _collection_scope)


def scope_q(workspace, scope: Scope, *, schema: Schema) -> Q:
    if scope.kind == "workspace":
        return Q()
    return _SCOPES[scope.kind](workspace, scope, schema)


def filter_items(queryset: models.QuerySet, query: Query, *, schema: Schema, workspace) -> models.QuerySet:
    """`queryset` narrowed to the workspace, the query's scope and its conditions (one SQL query)."""
    return queryset.filter(Q(workspace_id=workspace.pk) & scope_q(workspace, query.scope, schema=schema) & filter_q(query, schema=schema))


def items_matching(query: Query, *, schema: Schema, workspace) -> models.QuerySet:
    """All items (frames included) of `workspace` that match `query`, unordered."""
    return filter_items(Item.objects.all(), query, schema=schema, workspace=workspace)


# ----------------------------------------------------------------------------------------------
# Sorting and keyset paging


@dataclass
class ItemPage:
    items: list
    next_cursor: str | None
    has_previous: bool


def sort_expression(sort: Sort, *, schema: Schema):
    if sort.field is None:
        return None
    if sort.field == "title":
        return F("title")
    if sort.field in MEDIA_FIELDS:
        return media_expression(sort.field)
    return FieldValue(schema.get(sort.field))


def _encode_cursor(value: Any, pk: int) -> str:
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(raw: str, sort: Sort, *, schema: Schema) -> tuple[Any, int]:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise FilterError(FILTER_BAD_CURSOR.format(raw=raw), param="after") from None
    if value is not None:
        family = (
            "title" if sort.field == "title"
            else MEDIA_FIELDS[sort.field][1] if sort.field in MEDIA_FIELDS
            else type_key(schema.get(sort.field)) if sort.field else None
        )
        ok = (
            (family in ("float", "integer") and isinstance(value, int | float) and not isinstance(value, bool))
            or (family == "boolean" and isinstance(value, bool))
            or (family not in (None, "float", "integer", "boolean") and isinstance(value, str))
        )
        if not ok:
            raise FilterError(FILTER_BAD_CURSOR.format(raw=raw), param="after")
    return value, pk


class _RowCompare(_Where):
    """``(expr, id) > (value, pk)`` (or ``<``): the keyset condition, a range B-tree indexes can seek to."""

    def __init__(self, expr, value, pk: int, descending: bool):
        super().__init__(expr, F("id"))
        self.value, self.pk, self.descending = value, pk, descending

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        id_sql, id_params = compiler.compile(self.rhs)
        strict = "<" if self.descending else ">"
        # Spelled out rather than as a row comparison: SQLite cannot seek an expression index with
        # a row value, while `value <= v` is a range both databases seek to.
        return (
            f"({sql} {strict}= %s AND ({sql} {strict} %s OR {id_sql} {strict} %s))",
            (*params, self.value, *params, self.value, *id_params, self.pk),
        )


def page_items(
    queryset: models.QuerySet, query: Query, *, schema: Schema, limit: int = 50, after: str | None = None
) -> ItemPage:
    """One page of `queryset` (already filtered) in the query's sort order, after `after`.

    Items where the sort field is unset come last in both directions. The cursor is opaque; pass
    ``next_cursor`` back as ``after``. At most two queries (the second only at the set/unset boundary).
    """
    sort = query.sort
    expr = sort_expression(sort, schema=schema)
    cursor = _decode_cursor(after, sort, schema=schema) if after else None
    id_order = "-id" if sort.descending else "id"
    if expr is None:
        qs = queryset
        if cursor is not None:
            qs = qs.filter(id__lt=cursor[1]) if sort.descending else qs.filter(id__gt=cursor[1])
        rows = list(qs.order_by(id_order)[: limit + 1])
        next_cursor = _encode_cursor(None, rows[limit - 1].pk) if len(rows) > limit else None
        return ItemPage(rows[:limit], next_cursor, cursor is not None)

    ordered = expr.desc() if sort.descending else expr.asc()
    rows: list = []
    in_unset = cursor is not None and cursor[0] is None
    if not in_unset:
        qs = queryset.filter(_NotNull(expr))
        if cursor is not None:
            qs = qs.filter(_RowCompare(expr, cursor[0], cursor[1], sort.descending))
        rows = list(qs.annotate(_sort_value=expr).order_by(ordered, id_order)[: limit + 1])
    if len(rows) <= limit:
        qs = queryset.filter(_IsNull(expr))
        if in_unset:
            qs = qs.filter(id__lt=cursor[1]) if sort.descending else qs.filter(id__gt=cursor[1])
        rest = list(qs.annotate(_sort_value=expr).order_by(id_order)[: limit + 1 - len(rows)])
        rows += rest
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(_cursor_value(last._sort_value), last.pk)
    return ItemPage(rows[:limit], next_cursor, cursor is not None)


@dataclass
class Neighbours:
    """The items just before and after one item of a sorted result, and the cursors of the pages that start
    with the item and with each neighbour (``after`` values: the cursor of the item before)."""

    previous: Any = None
    next: Any = None
    found: bool = False
    # `after` of the page starting at the item (None: the item is first in the result).
    start_cursor: str | None = None


def _sorted_step(queryset: models.QuerySet, sort: Sort, expr, value: Any, pk: int, *, forward: bool):
    """The item right after (forward) or right before (value, pk) in the result order, at most two
    indexed queries: items with the sort field set come first, the unset ones after them, in id order."""
    descending = sort.descending if forward else not sort.descending
    id_order = "-id" if descending else "id"

    def by_id(qs):
        qs = qs.filter(id__lt=pk) if descending else qs.filter(id__gt=pk)
        return qs.annotate(_sort_value=expr).order_by(id_order).first()

    if value is None:
        # In the unset tail: its own neighbour by id, else (backwards) the last item with the field set.
        found = by_id(queryset.filter(_IsNull(expr)))
        if found is not None or forward:
            return found
        ordered = expr.asc() if sort.descending else expr.desc()
        return queryset.filter(_NotNull(expr)).annotate(_sort_value=expr).order_by(ordered, id_order).first()
    ordered = expr.desc() if descending else expr.asc()
    found = (
        queryset.filter(_NotNull(expr), _RowCompare(expr, value, pk, descending))
        .annotate(_sort_value=expr).order_by(ordered, id_order).first()
    )
    if found is not None or not forward:
        return found
    # Past the last set value: the first item of the unset tail.
    return queryset.filter(_IsNull(expr)).annotate(_sort_value=expr).order_by(id_order).first()


def neighbours(queryset: models.QuerySet, query: Query, *, schema: Schema, item_id: int) -> Neighbours:
    """Previous and next items around `item_id` in `queryset` (already filtered) in the query's sort order,
    as `page_items` orders them. Keyset lookups only: a handful of indexed queries, whatever the result's
    size. ``found`` is False when the item is not in the result (then there are no neighbours)."""
    sort = query.sort
    expr = sort_expression(sort, schema=schema)
    if expr is None:
        if not queryset.filter(pk=item_id).exists():
            return Neighbours()
        before = queryset.filter(id__gt=item_id) if sort.descending else queryset.filter(id__lt=item_id)
        after = queryset.filter(id__lt=item_id) if sort.descending else queryset.filter(id__gt=item_id)
        previous = before.order_by("id" if sort.descending else "-id").first()
        following = after.order_by("-id" if sort.descending else "id").first()
        start = _encode_cursor(None, previous.pk) if previous is not None else None
        return Neighbours(previous, following, True, start)
    row = queryset.filter(pk=item_id).annotate(_sort_value=expr).values_list("_sort_value", flat=True).first()
    if row is None and not queryset.filter(pk=item_id).exists():
        return Neighbours()
    value = _cursor_value(row)
    previous = _sorted_step(queryset, sort, expr, value, item_id, forward=False)
    following = _sorted_step(queryset, sort, expr, value, item_id, forward=True)
    start = _encode_cursor(_cursor_value(previous._sort_value), previous.pk) if previous is not None else None
    return Neighbours(previous, following, True, start)


def _cursor_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def describe(condition: Condition) -> str:
    """A short human label: ``weather in Sunny, Rain``."""
    words = {
        EQ: "=", NE: "≠", LT: "<", LTE: "≤", GT: ">", GTE: "≥", BETWEEN: "between", CONTAINS: "contains",
        STARTSWITH: "starts with", IN: "in", HAS_ANY: "has any of", HAS_ALL: "has all of",
        HAS_NONE: "has none of", IS_SET: "is set", IS_UNSET: "is not set",
    }
    if condition.builtin and condition.field == "frame_of":
        return "frame of " + (condition.value if condition.op == EQ else ", ".join(condition.value))
    if condition.op in _NO_VALUE:
        return f"{condition.field} {words[condition.op]}"
    value = condition.value
    if condition.op == BETWEEN:
        text = f"{_format_scalar(value[0])} … {_format_scalar(value[1])}"
    elif isinstance(value, tuple):
        text = ", ".join(_format_scalar(v) for v in value)
    else:
        text = _format_scalar(value)
    return f"{condition.field} {words[condition.op]} {text}"


def conditions_for(fields: Iterable[str], query: Query) -> list[Condition]:
    names = set(fields)
    return [c for c in query.all if c.field in names and not c.undeclared]

"""What each filter operator means, in plain Python: the reference the SQL must agree with.

`metadata_site.explorer.filters` compiles a `Query` to SQL for PostgreSQL and SQLite; the
property-based tests (tests/explorer/test_filters_equivalence.py) check that both databases return
exactly what `evaluate` returns here. Change a meaning here first, then in the compiler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from metadata_site.schemas.fields import FieldSpec, Schema

from . import filters as fl


@dataclass(frozen=True)
class RefItem:
    """The parts of an item filters look at."""

    id: int
    title: str
    kind: str = "image"
    metadata: dict = field(default_factory=dict)
    folder_id: int | None = None
    datasets: frozenset[int] = frozenset()
    collections: frozenset[int] = frozenset()
    parent_uid: str | None = None  # a frame's group or video
    media: dict = field(default_factory=dict)  # media field ("$width", ...) → its column's value


def media_value(item: RefItem, name: str) -> Any:
    """A media field's value, None when unset (NULL, or '' for text)."""
    value = item.media.get(name)
    return None if value == "" else value


def typed_value(spec: FieldSpec, metadata: dict) -> Any:
    """The field's value when it has the declared type, else None (unset). Never guesses types."""
    value = metadata.get(spec.name)
    family = fl.type_key(spec)
    if family in ("float", "integer"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None
    if family == "boolean":
        return value if isinstance(value, bool) else None
    if family == "multi_enum":
        return value if isinstance(value, list) else None
    return value if isinstance(value, str) else None


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in text)


def _contains(haystack: str, needle: str) -> bool:
    """Case-insensitive for ASCII letters only (as SQLite LIKE and PostgreSQL ILIKE in the C collation)."""
    return _ascii_lower(needle) in _ascii_lower(haystack)


def _compare(value: Any, op: str, wanted: Any) -> bool:
    if op == fl.EQ:
        return value == wanted
    if op == fl.NE:
        return value != wanted
    if op == fl.LT:
        return value < wanted
    if op == fl.LTE:
        return value <= wanted
    if op == fl.GT:
        return value > wanted
    if op == fl.GTE:
        return value >= wanted
    if op == fl.BETWEEN:
        return wanted[0] <= value <= wanted[1]
    if op == fl.IN:
        return value in wanted
    if op == fl.CONTAINS:
        return _contains(value, wanted)
    if op == fl.STARTSWITH:
        return value.startswith(wanted)
    raise AssertionError(op)


def _equals_text(value: Any, text: str) -> bool:
    """An undeclared key's value equals a filter text: the same string, the same number, or the boolean."""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int | float):
        number = fl.undeclared_number(text)
        return number is not None and float(value) == number
    return isinstance(value, str) and value == text


def undeclared_matches(metadata: dict, c: fl.Condition) -> bool:
    """A condition on a key no field declares: on the raw JSON value, whatever its type."""
    value = metadata.get(c.field)
    if c.op == fl.IS_SET:
        return value is not None
    if c.op == fl.IS_UNSET:
        return value is None
    if c.op in (fl.LT, fl.LTE, fl.GT, fl.GTE, fl.BETWEEN):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and _compare(float(value), c.op, c.value)
    if c.op in (fl.CONTAINS, fl.STARTSWITH):
        return isinstance(value, str) and _compare(value, c.op, c.value)
    if c.op == fl.EQ:
        return _equals_text(value, c.value)
    if c.op == fl.IN:
        return any(_equals_text(value, text) for text in c.value)
    # ne: any other string, number or boolean
    return isinstance(value, str | int | float) and not _equals_text(value, c.value)


def matches(item: RefItem, condition: fl.Condition, *, schema: Schema) -> bool:
    c = condition
    if c.undeclared and schema.get(c.field) is None:
        return undeclared_matches(item.metadata, c)
    if c.builtin and c.field in fl.MEDIA_FIELDS:
        return _present_matches(media_value(item, c.field), c)
    if c.builtin:
        if c.field == "title":
            return _compare(item.title, c.op, c.value)
        if c.field == "kind":
            return _compare(item.kind, c.op, c.value)
        if c.field == "frame_of":
            return item.parent_uid is not None and item.parent_uid in ({c.value} if c.op == fl.EQ else set(c.value))
        wanted = {c.value} if c.op == fl.EQ else set(c.value)
        have = item.datasets if c.field == "dataset" else item.collections
        return bool(have & wanted)
    spec = schema.get(c.field)
    return _present_matches(typed_value(spec, item.metadata), c, spec)


def _present_matches(value: Any, c: fl.Condition, spec: FieldSpec | None = None) -> bool:
    """A condition on a value that may be unset (None): only is_unset matches an unset value."""
    if c.op == fl.IS_SET:
        return value is not None
    if c.op == fl.IS_UNSET:
        return value is None
    if value is None:
        return False
    if c.op == fl.HAS_ANY:
        return any(v in value for v in c.value)
    if c.op == fl.HAS_ALL:
        return all(v in value for v in c.value)
    if c.op == fl.HAS_NONE:
        return not any(v in value for v in c.value)
    if spec is not None and fl.type_key(spec) == "datetime" and c.op != fl.IN:
        # Datetimes compare as their stored text; a date without a time means its whole day.
        any_of, terms = fl.datetime_terms(c.op, c.value)
        results = [_compare(value, op, bound) for op, bound in terms]
        return any(results) if any_of else all(results)
    return _compare(value, c.op, c.value)


def query_matches(item: RefItem, query: fl.Query, *, schema: Schema) -> bool:
    if not all(matches(item, c, schema=schema) for c in query.all):
        return False
    return not query.any or any(matches(item, c, schema=schema) for c in query.any)


def sort_key_value(item: RefItem, sort: fl.Sort, *, schema: Schema) -> Any:
    if sort.field is None:
        return None
    if sort.field == "title":
        return item.title
    if sort.field in fl.MEDIA_FIELDS:
        return media_value(item, sort.field)
    return typed_value(schema.get(sort.field), item.metadata)


def evaluate(items: Iterable[RefItem], query: fl.Query, *, schema: Schema) -> list[int]:
    """Ids of the matching items, in the query's order: by the sort value (unset last in both
    directions; strings in code-point order, false < true), ties by id in the same direction."""
    found = [i for i in items if query_matches(i, query, schema=schema)]
    sort = query.sort
    present = [i for i in found if sort_key_value(i, sort, schema=schema) is not None]
    missing = [i for i in found if sort_key_value(i, sort, schema=schema) is None]
    present.sort(key=lambda i: (sort_key_value(i, sort, schema=schema), i.id), reverse=sort.descending)
    missing.sort(key=lambda i: i.id, reverse=sort.descending)
    return [i.id for i in present + missing]

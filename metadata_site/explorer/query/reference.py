"""What each filter operator means, in plain Python: the reference every compiler must agree with.

`ReferenceCompiler` implements the compiler interface (`query.compiler.Compiler`) with Python predicates; the
property-based tests (tests/explorer/test_filters_equivalence.py) check that the JSON path on both databases and
the typed projection return exactly what `evaluate` returns here. Change a meaning here first, then in the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from metadata_site.schemas.fields import FieldSpec, Schema

from .compiler import Compiler
from .objects import Condition, Query, Sort
from .operators import (
    BETWEEN,
    CONTAINS,
    DUP_ROLE,
    EQ,
    GT,
    GTE,
    HAS_ALL,
    HAS_ANY,
    HAS_NONE,
    IN,
    IS_SET,
    IS_UNSET,
    LT,
    LTE,
    MAP_FIELD,
    MEDIA_FIELDS,
    NE,
    STARTSWITH,
    type_key,
)
from .values import datetime_terms, undeclared_number


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
    map_points: dict = field(default_factory=dict)  # (embedding field, method) → the item's (x, y) on that map


Predicate = Callable[[RefItem], bool]


def media_value(item: RefItem, name: str) -> Any:
    """A media field's value, None when unset (NULL, or '' for text)."""
    value = item.media.get(name)
    return None if value == "" else value


def dup_role(item: RefItem) -> str | None:
    """The item's role in its near-duplicate group (`$dup_role`), from its `$dup_group` media value."""
    group = item.media.get("$dup_group")
    if group is None:
        return None
    return "representative" if group == item.id else "copy"


def typed_value(spec: FieldSpec, metadata: dict) -> Any:
    """The field's value when it has the declared type, else None (unset). Never guesses types."""
    value = metadata.get(spec.name)
    family = type_key(spec)
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
    if op == EQ:
        return value == wanted
    if op == NE:
        return value != wanted
    if op == LT:
        return value < wanted
    if op == LTE:
        return value <= wanted
    if op == GT:
        return value > wanted
    if op == GTE:
        return value >= wanted
    if op == BETWEEN:
        return wanted[0] <= value <= wanted[1]
    if op == IN:
        return value in wanted
    if op == CONTAINS:
        return _contains(value, wanted)
    if op == STARTSWITH:
        return value.startswith(wanted)
    raise AssertionError(op)


def _equals_text(value: Any, text: str) -> bool:
    """An undeclared key's value equals a filter text: the same string, the same number, or the boolean."""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int | float):
        number = undeclared_number(text)
        return number is not None and float(value) == number
    return isinstance(value, str) and value == text


def undeclared_matches(metadata: dict, c: Condition) -> bool:
    """A condition on a key no field declares: on the raw JSON value, whatever its type."""
    value = metadata.get(c.field)
    if c.op == IS_SET:
        return value is not None
    if c.op == IS_UNSET:
        return value is None
    if c.op in (LT, LTE, GT, GTE, BETWEEN):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and _compare(float(value), c.op, c.value)
    if c.op in (CONTAINS, STARTSWITH):
        return isinstance(value, str) and _compare(value, c.op, c.value)
    if c.op == EQ:
        return _equals_text(value, c.value)
    if c.op == IN:
        return any(_equals_text(value, text) for text in c.value)
    # ne: any other string, number or boolean
    return isinstance(value, str | int | float) and not _equals_text(value, c.value)


def _present_matches(value: Any, c: Condition, spec: FieldSpec | None = None) -> bool:
    """A condition on a value that may be unset (None): only is_unset matches an unset value."""
    if c.op == IS_SET:
        return value is not None
    if c.op == IS_UNSET:
        return value is None
    if value is None:
        return False
    if c.op == HAS_ANY:
        return any(v in value for v in c.value)
    if c.op == HAS_ALL:
        return all(v in value for v in c.value)
    if c.op == HAS_NONE:
        return not any(v in value for v in c.value)
    if spec is not None and type_key(spec) == "datetime" and c.op != IN:
        # Datetimes compare as their stored text; a date without a time means its whole day.
        any_of, terms = datetime_terms(c.op, c.value)
        results = [_compare(value, op, bound) for op, bound in terms]
        return any(results) if any_of else all(results)
    return _compare(value, c.op, c.value)


def _in_box(point: tuple[float, float] | None, box: tuple) -> bool:
    """A map's point lies in the box (x0, y0, x1, y1), edges included; an item without a point never does."""
    return point is not None and box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


class ReferenceCompiler(Compiler[Predicate]):
    """Conditions as Python predicates over `RefItem`s."""

    def __init__(self, schema: Schema):
        self.schema = schema

    def all_of(self, parts: list[Predicate]) -> Predicate:
        return lambda item: all(p(item) for p in parts)

    def any_of(self, parts: list[Predicate]) -> Predicate:
        return lambda item: any(p(item) for p in parts)

    def condition(self, condition: Condition) -> Predicate:
        c, schema = condition, self.schema
        if c.undeclared and schema.get(c.field) is None:
            return lambda item: undeclared_matches(item.metadata, c)
        if c.builtin and c.field == DUP_ROLE:
            return lambda item: _present_matches(dup_role(item), c)
        if c.builtin and c.field in MEDIA_FIELDS:
            return lambda item: _present_matches(media_value(item, c.field), c)
        if c.builtin and c.field == MAP_FIELD:
            return lambda item: _in_box(item.map_points.get(c.value[:2]), c.value[2:])
        if c.builtin:
            if c.field in ("title", "kind"):
                return lambda item: _compare(getattr(item, c.field), c.op, c.value)
            wanted = {c.value} if c.op == EQ else set(c.value)
            if c.field == "frame_of":
                return lambda item: item.parent_uid is not None and item.parent_uid in wanted
            if c.field == "dataset":
                return lambda item: bool(item.datasets & wanted)
            return lambda item: bool(item.collections & wanted)
        spec = schema.get(c.field)
        return lambda item: _present_matches(typed_value(spec, item.metadata), c, spec)


def matches(item: RefItem, condition: Condition, *, schema: Schema) -> bool:
    return ReferenceCompiler(schema).condition(condition)(item)


def query_matches(item: RefItem, query: Query, *, schema: Schema) -> bool:
    return ReferenceCompiler(schema).conditions(query)(item)


def sort_key_value(item: RefItem, sort: Sort, *, schema: Schema) -> Any:
    if sort.field is None:
        return None
    if sort.field == "title":
        return item.title
    if sort.field in MEDIA_FIELDS:
        return media_value(item, sort.field)
    return typed_value(schema.get(sort.field), item.metadata)


def evaluate(items: Iterable[RefItem], query: Query, *, schema: Schema) -> list[int]:
    """Ids of the matching items, in the query's order: by the sort value (unset last in both
    directions; strings in code-point order, false < true), ties by id in the same direction."""
    test = ReferenceCompiler(schema).conditions(query)
    found = [i for i in items if test(i)]
    sort = query.sort
    present = [i for i in found if sort_key_value(i, sort, schema=schema) is not None]
    missing = [i for i in found if sort_key_value(i, sort, schema=schema) is None]
    present.sort(key=lambda i: (sort_key_value(i, sort, schema=schema), i.id), reverse=sort.descending)
    missing.sort(key=lambda i: i.id, reverse=sort.descending)
    return [i.id for i in present + missing]

"""The compiler interface, and its implementation for the JSON path of both databases (a Django ``Q``).

A `Compiler` turns a query's conditions into what its backend evaluates; the combination of conditions (AND of
``all``, and at least one of ``any``) is written once, here. The implementations:

- `JsonCompiler` (this module): a ``Q`` over ``items_item.client_metadata``. Its expressions (`query.sql`) carry
  the PostgreSQL JSONB and the SQLite JSON1 SQL as ``as_postgresql`` / ``as_sqlite``, chosen by Django per
  connection;
- `explorer.projection.ProjectionCompiler`: SQL over the workspace's typed projection (PostgreSQL counts and facets);
- `query.reference.ReferenceCompiler`: a Python predicate, the meaning the others are tested against.

Scopes are not conditions: `query.scopes` resolves them (to a ``Q`` the projection embeds as a sub-select).
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import NullIf

from metadata_site.items.models import Item
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

from .errors import FILTER_UNKNOWN_FIELD, FilterError
from .objects import Condition, Query
from .operators import (
    BETWEEN,
    CONTAINS,
    COPY,
    DUP_ROLE,
    DUP_ROLES,
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
    REPRESENTATIVE,
    SQL_COMPARISONS,
    STARTSWITH,
    type_key,
)
from .sql import (
    BoolIs,
    Compare,
    FieldValue,
    HasOptions,
    IsNull,
    KeyPresent,
    Startswith,
    TextContains,
    TitleContains,
    TitleStartswith,
    not_null,
    text_spec,
)
from .values import datetime_terms, undeclared_number


class Compiler[T]:
    """What every backend implements: one condition, and the AND / OR of compiled parts."""

    def condition(self, condition: Condition) -> T:
        raise NotImplementedError

    def all_of(self, parts: list[T]) -> T:
        raise NotImplementedError

    def any_of(self, parts: list[T]) -> T:
        raise NotImplementedError

    def conditions(self, query: Query) -> T:
        """The query's conditions: every one of ``all``, and (when there is an OR group) one of ``any``."""
        parts = [self.condition(c) for c in query.all]
        if query.any:
            parts.append(self.any_of([self.condition(c) for c in query.any]))
        return self.all_of(parts)


def media_expression(name: str):
    """The column of a media field; text columns read '' as NULL (unset), as declared fields do."""
    column, family = MEDIA_FIELDS[name]
    return NullIf(F(column), Value("")) if family == "media_text" else F(column)


def dup_role_q(op: str, value: Any) -> Q:
    """`$dup_role`: "representative" is `dup_group = id`, "copy" a `dup_group` that is another item's id; unset
    (no near-duplicate) matches is_unset only, as every unset value does."""
    roles = {
        REPRESENTATIVE: Q(dup_group=F("pk")),
        COPY: Q(dup_group__isnull=False) & ~Q(dup_group=F("pk")),
    }
    if op == IS_SET:
        return Q(dup_group__isnull=False)
    if op == IS_UNSET:
        return Q(dup_group__isnull=True)
    if op == EQ:
        return roles[value]
    if op == NE:
        return reduce(operator.or_, [roles[r] for r in DUP_ROLES if r != value])
    if op == IN:
        return reduce(operator.or_, [roles[r] for r in dict.fromkeys(value)])
    raise AssertionError(op)


def compare(expr: Any, op: str, value: Any) -> Q:
    """A comparison (or is_set / is_unset) of a typed value."""
    if op in SQL_COMPARISONS or op == IN:
        return Q(Compare(expr, op, value))
    if op == BETWEEN:
        return Q(Compare(expr, GTE, value[0])) & Q(Compare(expr, LTE, value[1]))
    if op == IS_SET:
        return Q(not_null(expr))
    if op == IS_UNSET:
        return Q(IsNull(expr))
    raise AssertionError(op)


def map_box_q(value: tuple) -> Q:
    """Items whose point on the (field, method) map of their own workspace lies in the box (edges included): one
    EXISTS probe a candidate (the (item, map) unique index)."""
    from metadata_site.media.models import MapPoint

    field, method, x0, y0, x1, y1 = value
    points = MapPoint.objects.filter(item=OuterRef("pk"), map__workspace_id=OuterRef("workspace_id"), map__field=field,
                                     map__method=method, x__gte=x0, x__lte=x1, y__gte=y0, y__lte=y1)
    return Q(Exists(points))


class JsonCompiler(Compiler[Q]):
    """Conditions as a Django ``Q`` over the items' JSON (and their built-in columns), for both databases."""

    def __init__(self, schema: Schema):
        self.schema = schema

    def all_of(self, parts: list[Q]) -> Q:
        return reduce(operator.and_, parts, Q())

    def any_of(self, parts: list[Q]) -> Q:
        return reduce(operator.or_, parts, Q())

    def condition(self, condition: Condition) -> Q:
        c = condition
        if c.builtin:
            return self._builtin(c)
        spec = self.schema.get(c.field)
        if spec is None:
            if c.undeclared:
                return self._undeclared(c)
            raise FilterError(FILTER_UNKNOWN_FIELD.format(param="f", field=c.field))
        family = type_key(spec)
        if family == "multi_enum" and c.op in (HAS_ANY, HAS_ALL, HAS_NONE):
            return Q(HasOptions(spec, c.op, c.value))
        if c.op == CONTAINS:
            return Q(TextContains(spec, c.value))
        expr = FieldValue(spec)
        if c.op == STARTSWITH:
            return Q(Startswith(expr, c.value))
        if family == "boolean" and c.op in (EQ, NE):
            return Q(BoolIs(expr, c.value if c.op == EQ else not c.value))
        if family == "datetime" and (c.op in SQL_COMPARISONS or c.op == BETWEEN):
            any_of, terms = datetime_terms(c.op, c.value)
            parts = [Q(Compare(expr, op, bound)) for op, bound in terms]
            return reduce(operator.or_ if any_of else operator.and_, parts)
        return compare(expr, c.op, c.value)

    def _builtin(self, c: Condition) -> Q:
        if c.field == DUP_ROLE:
            return dup_role_q(c.op, c.value)
        if c.field in MEDIA_FIELDS:
            expr = media_expression(c.field)
            return Q(Startswith(expr, c.value)) if c.op == STARTSWITH else compare(expr, c.op, c.value)
        if c.field == "title":
            if c.op == EQ:
                return Q(title=c.value)
            if c.op == NE:
                return ~Q(title=c.value)
            return Q(TitleContains(c.value)) if c.op == CONTAINS else Q(TitleStartswith(c.value))
        if c.field == "kind":
            if c.op == EQ:
                return Q(kind=c.value)
            if c.op == NE:
                return ~Q(kind=c.value)
            return Q(kind__in=list(c.value))
        if c.field == MAP_FIELD:
            return map_box_q(c.value)
        ids = [c.value] if c.op == EQ else list(c.value)
        if c.field == "frame_of":
            return Q(parent_id__in=Item.objects.filter(uid__in=ids).values("id"))
        if c.field == "dataset":
            from metadata_site.projects.models import DatasetItem

            return Q(Exists(DatasetItem.objects.filter(item=OuterRef("pk"), dataset_id__in=ids)))
        from metadata_site.collections.models import CollectionItem

        return Q(Exists(CollectionItem.objects.filter(item=OuterRef("pk"), collection_id__in=ids)))

    def _undeclared(self, c: Condition) -> Q:
        """An undeclared key's condition as typed reads of its JSON value (the declared fields' own SQL,
        for a string, a number and a boolean reading of the key): no index serves it."""
        as_text = FieldValue(text_spec(c.field))
        as_number = FieldValue(FieldSpec(c.field, FieldType.FLOAT))
        as_bool = FieldValue(FieldSpec(c.field, FieldType.BOOLEAN))
        if c.op in (IS_SET, IS_UNSET):
            return Q(KeyPresent(c.field, negated=c.op == IS_UNSET))
        if c.op in (LT, LTE, GT, GTE, BETWEEN):
            return compare(as_number, c.op, c.value)
        if c.op == CONTAINS:
            return Q(TextContains(text_spec(c.field), c.value))
        if c.op == STARTSWITH:
            return Q(Startswith(as_text, c.value))

        def equals(text: str) -> Q:
            q = Q(Compare(as_text, EQ, text))
            number = undeclared_number(text)
            if number is not None:
                q |= Q(Compare(as_number, EQ, number))
            if text in ("true", "false"):
                q |= Q(BoolIs(as_bool, text == "true"))
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
        q = Q(Compare(as_text, NE, c.value))
        q |= Q(Compare(as_number, NE, number)) if number is not None else Q(not_null(as_number))
        q |= Q(BoolIs(as_bool, c.value != "true")) if c.value in ("true", "false") else Q(not_null(as_bool))
        return q


def condition_q(condition: Condition, *, schema: Schema) -> Q:
    """The Q of one validated condition (scope-free)."""
    return JsonCompiler(schema).condition(condition)


def filter_q(query: Query, *, schema: Schema) -> Q:
    """The Q of a query's conditions (AND of `all`, plus at least one of `any`), scope-free."""
    return JsonCompiler(schema).conditions(query)

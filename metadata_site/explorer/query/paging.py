"""Sorting and keyset paging of a query's items: one page after a cursor, and an item's neighbours.

The cursor codec (`encode_cursor` / `decode_cursor`) is the one place the explorer's cursors are written and read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import F

from metadata_site.lib import cursor as cursor_codec
from metadata_site.schemas.fields import Schema

from .compiler import media_expression
from .errors import FILTER_BAD_CURSOR, LABEL_LENGTH, FilterError
from .objects import Query, Sort
from .operators import MEDIA_FIELDS, type_key
from .sql import FieldValue, IsNull, RowCompare, not_null


def encode_cursor(value: Any, pk: int) -> str:
    """The opaque ``after`` cursor of a row: its sort value and id (`lib.cursor`, the one codec)."""
    return cursor_codec.encode([value, pk])


def decode_cursor(raw: str, sort: Sort, *, schema: Schema) -> tuple[Any, int]:
    """(sort value, id) of a cursor made by `encode_cursor` for this sort; FilterError (param ``after``) if not."""
    try:
        value, pk = cursor_codec.decode(raw)
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
    except (ValueError, TypeError):  # CursorError is a ValueError
        raise FilterError(FILTER_BAD_CURSOR.format(raw=raw[:LABEL_LENGTH]), param="after") from None
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
            raise FilterError(FILTER_BAD_CURSOR.format(raw=raw[:LABEL_LENGTH]), param="after")
    return value, pk


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


def page_items(
    queryset: models.QuerySet, query: Query, *, schema: Schema, limit: int = 50, after: str | None = None
) -> ItemPage:
    """One page of `queryset` (already filtered) in the query's sort order, after `after`.

    Items where the sort field is unset come last in both directions. The cursor is opaque; pass
    ``next_cursor`` back as ``after``. At most two queries (the second only at the set/unset boundary).
    """
    sort = query.sort
    expr = sort_expression(sort, schema=schema)
    cursor = decode_cursor(after, sort, schema=schema) if after else None
    id_order = "-id" if sort.descending else "id"
    if expr is None:
        qs = queryset
        if cursor is not None:
            qs = qs.filter(id__lt=cursor[1]) if sort.descending else qs.filter(id__gt=cursor[1])
        rows = list(qs.order_by(id_order)[: limit + 1])
        next_cursor = encode_cursor(None, rows[limit - 1].pk) if len(rows) > limit else None
        return ItemPage(rows[:limit], next_cursor, cursor is not None)

    ordered = expr.desc() if sort.descending else expr.asc()
    rows: list = []
    in_unset = cursor is not None and cursor[0] is None
    if not in_unset:
        qs = queryset.filter(not_null(expr))
        if cursor is not None:
            qs = qs.filter(RowCompare(expr, cursor[0], cursor[1], sort.descending))
        rows = list(qs.annotate(_sort_value=expr).order_by(ordered, id_order)[: limit + 1])
    if len(rows) <= limit:
        qs = queryset.filter(IsNull(expr))
        if in_unset:
            qs = qs.filter(id__lt=cursor[1]) if sort.descending else qs.filter(id__gt=cursor[1])
        rest = list(qs.annotate(_sort_value=expr).order_by(id_order)[: limit + 1 - len(rows)])
        rows += rest
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(_cursor_value(last._sort_value), last.pk)
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
        found = by_id(queryset.filter(IsNull(expr)))
        if found is not None or forward:
            return found
        ordered = expr.asc() if sort.descending else expr.desc()
        return queryset.filter(not_null(expr)).annotate(_sort_value=expr).order_by(ordered, id_order).first()
    ordered = expr.desc() if descending else expr.asc()
    found = (
        queryset.filter(not_null(expr), RowCompare(expr, value, pk, descending))
        .annotate(_sort_value=expr).order_by(ordered, id_order).first()
    )
    if found is not None or not forward:
        return found
    # Past the last set value: the first item of the unset tail.
    return queryset.filter(IsNull(expr)).annotate(_sort_value=expr).order_by(id_order).first()


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
        start = encode_cursor(None, previous.pk) if previous is not None else None
        return Neighbours(previous, following, True, start)
    row = queryset.filter(pk=item_id).annotate(_sort_value=expr).values_list("_sort_value", flat=True).first()
    if row is None and not queryset.filter(pk=item_id).exists():
        return Neighbours()
    value = _cursor_value(row)
    previous = _sorted_step(queryset, sort, expr, value, item_id, forward=False)
    following = _sorted_step(queryset, sort, expr, value, item_id, forward=True)
    start = encode_cursor(_cursor_value(previous._sort_value), previous.pk) if previous is not None else None
    return Neighbours(previous, following, True, start)


def _cursor_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return value
    return str(value)



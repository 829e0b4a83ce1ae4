"""Reads of the explorer: filtered items, counts, selections and the keys no field declares (facets: `facets`).

A *selection* (what bulk edit and "add to collection" act on) is read from the posted form by
`items.selection.SelectionForm` into a `Selection` (ticked items, a folder, or every item a filter matches,
re-evaluated on the server); `resolve_selection` turns it into a queryset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, models

from metadata_site.db_router import read_connection
from metadata_site.items.models import Item
from metadata_site.items.selection import FOLDER, Selection
from metadata_site.schemas.fields import Schema

from . import query as fl
from .cache import Delta, remember
from .counts import is_unfiltered
from .projection import NotProjected, ProjectionCompiler, stored_total


def item_base_queryset() -> models.QuerySet:
    return Item.objects.all()


def explorer_items(query: fl.Query, *, schema: Schema, workspace) -> models.QuerySet:
    """Items of `workspace` matching `query` (all kinds; filter ``kind`` to narrow), unordered."""
    return fl.filter_items(item_base_queryset(), query, schema=schema, workspace=workspace)


def resolve_selection(selection: Selection, *, schema: Schema, workspace) -> models.QuerySet:
    """The items of `workspace` a selection names: every item its filter matches, the top-level items of its
    folder, or its ticked items (by uid or id; others' items are not found). Raises FilterError."""
    if selection.matching:
        query = fl.parse_query_string(selection.query_dict(), schema=schema)
        return explorer_items(query, schema=schema, workspace=workspace)
    items = Item.objects.filter(workspace=workspace)
    if selection.kind == FOLDER:
        return items.filter(folder_id=selection.folder).top_level()
    if not selection.uids and not selection.ids:
        return items.none()
    named = models.Q(uid__in=selection.uids) if selection.uids else models.Q(pk__in=selection.ids)
    if selection.uids and selection.ids:
        named |= models.Q(pk__in=selection.ids)
    return items.filter(named)


def selection_count(selection: Selection, *, schema: Schema, workspace) -> int:
    """How many items a selection names: a filter selection is counted like the explorer's total (from the
    typed projection when it is ready), the others by their rows. Raises FilterError."""
    if selection.matching:
        query = fl.parse_query_string(selection.query_dict(), schema=schema)
        return count(query, schema=schema, workspace=workspace)
    return resolve_selection(selection, schema=schema, workspace=workspace).count()


def count(query: fl.Query, *, schema: Schema, workspace) -> int:
    """The exact number of the workspace's items matching `query`: without a condition, from the count store
    (`explorer.counts`); else from the typed projection when it is ready (index-only on PostgreSQL), else from
    the items' JSON. A count the projection alone decides is kept under its version (`explorer.cache`)."""
    return _kept_count(query, schema=schema, workspace=workspace,
                       compute=lambda: _count(query, schema=schema, workspace=workspace))


def _kept_count(query: fl.Query, *, schema: Schema, workspace, compute: Callable[[], int]) -> int:
    """From the count store, else kept or patched (`explorer.cache`), else `compute()`."""
    stored = stored_total(query, schema=schema, workspace=workspace)
    if stored is not None:
        return stored
    return remember("count", query, schema=schema, workspace=workspace, compute=compute,
                    patch=lambda kept, delta: _patched_count(query, kept, delta))


class _Estimated(Exception):
    """Raised inside `count_or_estimate`'s computation: show the planner's estimate, keep nothing."""

    def __init__(self, rows: int) -> None:
        self.rows = rows


def count_or_estimate(query: fl.Query, *, schema: Schema, workspace) -> tuple[int | None, int | None]:
    """``(the exact count, None)`` when it costs no scan (the count store, or kept or patched by `explorer.cache`)
    or does not look slow; else ``(None, the planner's estimate)`` (`estimate`), so that the page shows the estimate
    first and asks for the exact count. One pinned snapshot for all of it."""
    def compute() -> int:
        rows = estimate(query, schema=schema, workspace=workspace)
        if rows is not None:
            raise _Estimated(rows)
        return _count(query, schema=schema, workspace=workspace)

    try:
        return _kept_count(query, schema=schema, workspace=workspace, compute=compute), None
    except _Estimated as estimated:
        return None, estimated.rows


def _patched_count(query: fl.Query, kept: int, delta: Delta) -> int | None:
    """The kept count of `query` moved by the change-log rows of `delta` (explorer.cache); None: count again."""
    try:
        where, params = delta.compiler.where(query)
    except NotProjected:
        return None
    with read_connection().cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(p.sign), 0) FROM {delta.compiler.table} p WHERE {delta.where} AND {where}",
                       [*delta.params, *params])
        return kept + int(cursor.fetchone()[0])


def _count(query: fl.Query, *, schema: Schema, workspace) -> int:
    compiler = ProjectionCompiler.for_workspace(workspace, schema)
    if compiler is not None:
        try:
            return compiler.count(query)
        except NotProjected:
            pass
    return explorer_items(query, schema=schema, workspace=workspace).count()


# A count whose matches the planner puts above this many is shown first as a labelled estimate, then exactly
# (the exact count's cost grows with its matches: about 100 ms a million on the projection). Counts read from
# the items' JSON (the projection not ready or not able to answer) cost about ten times more a row.
ESTIMATE_ABOVE = 1_000_000
ESTIMATE_ABOVE_JSON = 100_000


def estimate(query: fl.Query, *, schema: Schema, workspace) -> int | None:
    """The planner's estimate of `count(query)` when the exact count looks slow enough to show it first (see
    ESTIMATE_ABOVE), else None: never for the unfiltered workspace (its count store answers at once), nor on
    SQLite (no estimate to read). Costs one EXPLAIN, no scan."""
    if connection.vendor != "postgresql" or is_unfiltered(query):
        return None
    compiler = ProjectionCompiler.for_workspace(workspace, schema)
    sql = params = None
    if compiler is not None:
        try:
            where, params = compiler.where(query)
            sql, threshold = f"SELECT 1 FROM {compiler.table} p WHERE {where}", ESTIMATE_ABOVE
        except NotProjected:
            pass
    if sql is None:
        sql, params = explorer_items(query, schema=schema, workspace=workspace).values("id").query.sql_with_params()
        threshold = ESTIMATE_ABOVE_JSON
    with read_connection().cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = int(plan[0]["Plan"]["Plan Rows"])
    return rows if rows > threshold else None


def index_rebuild_pending(*, workspace) -> bool:
    """Whether a build of the workspace's field indexes and typed projection is queued or running: until it
    ends, counts and facets are exact but read the JSON (slower). A build left RUNNING by a dead worker stays
    pending until `recover_tasks` queues it again and it finishes."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from .tasks import build_field_indexes

    return DBTaskResult.objects.filter(
        task_path=build_field_indexes.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs__kwargs__workspace_id=workspace.pk,
    ).exists()


# ----------------------------------------------------------------------------------------------
# Keys found in the data that no field declares

KEY_SAMPLE = 5000
MAX_KEYS = 100
_JSON_TYPES = {  # SQLite json_each types -> JSON types (PostgreSQL's jsonb_typeof already says these)
    "text": "string", "integer": "number", "real": "number", "true": "boolean", "false": "boolean",
}


@dataclass
class UndeclaredKey:
    """A key found in the items' metadata that the schema does not declare."""

    name: str
    count: int  # items holding it with a non-null value (in the sample)
    types: dict[str, int]  # JSON type -> items

    @property
    def main_type(self) -> str:
        return max(self.types.items(), key=lambda kv: (kv[1], kv[0]))[0]

    @property
    def ops(self) -> tuple[str, ...]:
        """The operators that fit what was observed: numeric comparisons only when numbers were seen."""
        ops = [fl.EQ, fl.NE, fl.IN]
        if "string" in self.types:
            ops += [fl.CONTAINS, fl.STARTSWITH]
        if "number" in self.types:
            ops += [fl.LT, fl.LTE, fl.GT, fl.GTE, fl.BETWEEN]
        return (*ops, fl.IS_SET, fl.IS_UNSET)


@dataclass
class UndeclaredKeys:
    keys: list[UndeclaredKey]
    sampled: int  # items read
    exact: bool  # every item of the scope was read (else the counts are "at least")
    truncated: bool  # more keys than MAX_KEYS were found


def undeclared_keys(scope: fl.Scope, *, schema: Schema, workspace, sample: int = KEY_SAMPLE) -> UndeclaredKeys:
    """The keys of the scope's items' metadata that `schema` does not declare, with their JSON types
    and how many items hold each. Bounded: reads the first `sample` items of the scope by id (one
    statement), so counts are exact on scopes of at most `sample` items and lower bounds beyond."""
    items = fl.items_matching(fl.Query(scope=scope), schema=schema, workspace=workspace)
    sub_sql, sub_params = items.order_by("id").values("client_metadata")[:sample].query.sql_with_params()
    more_sql, more_params = items.order_by("id").values("id")[sample : sample + 1].query.sql_with_params()
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT e.key, jsonb_typeof(e.value), COUNT(*) FROM ({sub_sql}) s(md), "
            f"LATERAL (SELECT * FROM jsonb_each(CASE WHEN jsonb_typeof(s.md) = 'object' THEN s.md END) "
            f"LIMIT %s) e WHERE jsonb_typeof(e.value) <> 'null' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT %s"
        )
    else:
        sql = (
            f"SELECT e.key, e.type, COUNT(*) FROM ({sub_sql}) s, "
            f"json_each(CASE WHEN json_type(s.client_metadata) = 'object' THEN s.client_metadata END) e "
            f"WHERE e.type <> 'null' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT %s"
        )
    count_sql = f"SELECT (SELECT COUNT(*) FROM ({sub_sql}) s), EXISTS ({more_sql})"
    # The outer LIMIT bounds the rows returned; per item at most 1,000 keys are looked at on PostgreSQL.
    row_limit = (MAX_KEYS + len(schema)) * 8 + 1
    with read_connection().cursor() as cursor:
        cursor.execute(count_sql, (*sub_params, *more_params))
        read, more = cursor.fetchone()
        if connection.vendor == "postgresql":
            cursor.execute(sql, (*sub_params, 1000, row_limit))
        else:
            cursor.execute(sql, (*sub_params, row_limit))
        rows = cursor.fetchall()
    exact = not more
    found: dict[str, UndeclaredKey] = {}
    for name, jtype, n in rows:
        if schema.get(name) is not None:
            continue
        key = found.setdefault(name, UndeclaredKey(name, 0, {}))
        kind = _JSON_TYPES.get(jtype, jtype)
        key.types[kind] = key.types.get(kind, 0) + n
        key.count += n
    keys = sorted(found.values(), key=lambda k: (-k.count, k.name))
    return UndeclaredKeys(keys[:MAX_KEYS], read, exact, len(keys) > MAX_KEYS or len(rows) == row_limit)

"""The typed projection: exact counts and facets at a million items without reading the JSON (PostgreSQL).

Why: an expression index on ``items_item.client_metadata`` cannot serve an index-only scan on
PostgreSQL, so every range, substring or compound count visited the item heap (Q2, Q3, Q4, Q6:
80–130 ms at 1,000,000 items, the facet pass 340 ms; bench/README.md). Here, per workspace, one
narrow table holds each item's declared fields as typed columns::

    msx_w<workspace>_p (item_id bigint PRIMARY KEY, <one column per declared field>)

- float, integer: double precision; datetime, string, link: text in the "C" collation (the same
  text the JSON path compares; a datetime also as epoch seconds, for its histogram); boolean: boolean; enum: smallint, the option's 1-based position (0: a
  string that is not an option); multi enum: smallint[] of the positions of the options it holds.
  NULL wherever the JSON path says "unset", so every operator means exactly what it means there
  (`explorer.query`, checked against the reference evaluator by the property tests on both paths).
- Indexes: a B-tree on each scalar column alone (deduplicated: an option is stored once with its rows);
  numbers and datetimes also carry the enum, boolean, multi-enum, other number and datetime-epoch columns
  (INCLUDE), so a compound count or the facet pass is one index-only range scan; per multi-enum option a
  partial ``(item_id) WHERE column @> '{k}'``.
- Kept in step by statement-level triggers on ``items_item`` (migration explorer 0001) that run the
  upsert / delete SQL registered in `explorer.models.Projection` for each workspace the statement
  touched: every write path (ORM, raw SQL, COPY) is covered without hooks. The triggers exist only
  while some workspace's projection is maintained (`_switch_triggers`).
- Built (and rebuilt when the schema changes) in the background by the ``build_field_indexes`` task.
  Until it is `ready` (and for the fingerprint of the schema in force), the explorer counts from the
  JSON as before: exact, slower. A bulk import of most of a workspace drops it and has it rebuilt.

The grid's pages still read ``items_item`` (its first pages are index-backed and take milliseconds);
counts, facets and histograms read the projection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from metadata_site.db_router import read_connection
from metadata_site.items.models import Item
from metadata_site.lib.locks import polled_advisory_lock
from metadata_site.schemas.fields import FieldSpec, Schema

from . import counts
from . import query as fl
from .models import Projection
from .query.compiler import Compiler
from .query.operators import SQL_COMPARISONS
from .query.scopes import scope_q
from .query.sql import like_pattern, sql_literal

log = logging.getLogger(__name__)

SOURCE = "client_metadata"
# Columns a number's or datetime's B-tree carries besides its own (INCLUDE): enough for the facet pass
# and compound counts of a typical schema; wider schemas read the projection's heap for the rest.
MAX_INCLUDED = 12
# A string `contains` is answered by matching the column's distinct values first (a skip scan of its
# B-tree, one probe per distinct value) when it has at most this many; else by scanning the column.
SKIP_SCAN_MAX_DISTINCT = 5000

_SQL_TYPES = {
    "float": "double precision",
    "integer": "double precision",
    "boolean": "boolean",
    "enum": "smallint",
    "multi_enum": "smallint[]",
    "datetime": 'text COLLATE "C"',
    "string": 'text COLLATE "C"',
    "link": 'text COLLATE "C"',
}
_ORDERED = ("float", "integer", "datetime")
_SMALL = ("enum", "boolean", "multi_enum", "float", "integer", "datetime")


@dataclass(frozen=True)
class Column:
    spec: FieldSpec
    name: str

    @property
    def family(self) -> str:
        return fl.type_key(self.spec)

    @property
    def epoch(self) -> str:
        """A datetime's second column: its seconds since 1970, for histograms (no text parsing per read)."""
        return f"{self.name}_e"


def table_name(workspace_id: int) -> str:
    return f"msx_w{int(workspace_id)}_p"


def columns_for(schema: Schema) -> list[Column]:
    result = []
    for spec in schema:
        family = fl.type_key(spec)
        digest = hashlib.sha1(json.dumps([spec.name, family]).encode()).hexdigest()[:8]
        slug = re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_")[:24] or "f"
        result.append(Column(spec, f"f_{slug}_{digest}"))
    return result


# Bumped when the table's layout changes, so that every projection is rebuilt in the new one.
LAYOUT = 6  # 3: with its count store (explorer.counts); 4: B-trees keyed by the column alone (deduplicated);
# 5: the store counts the statements that wrote the projection (its version, for explorer.cache); 6: with its
# change log (the rows each write changed, to patch kept figures: explorer.cache)


def fingerprint(columns: list[Column]) -> str:
    described = [LAYOUT] + [[c.spec.name, c.family, list(c.spec.options), c.name] for c in columns]
    return hashlib.sha1(json.dumps(described).encode()).hexdigest()


def _stored(columns: list[Column]) -> list[tuple[str, str]]:
    """The table's columns after item_id: (name, SQL type); a datetime also has its epoch seconds."""
    result = []
    for c in columns:
        result.append((c.name, _SQL_TYPES[c.family]))
        if c.family == "datetime":
            result.append((c.epoch, "double precision"))
    return result


def _options_array(spec: FieldSpec) -> str:
    return "ARRAY[" + ", ".join(sql_literal(o) for o in spec.options) + "]::text[]"


def typed_sql(column: Column, source: str) -> str:
    """The column's value computed from the item's metadata (`source`: a jsonb column reference)."""
    spec, family = column.spec, column.family
    key = sql_literal(spec.name)
    if family == "enum":
        return (
            f"(CASE WHEN jsonb_typeof({source} -> {key}) = 'string' THEN "
            f"coalesce(array_position({_options_array(spec)}, {source} ->> {key}), 0) END)::smallint"
        )
    if family == "multi_enum":
        options = _options_array(spec)
        return (
            f"(CASE WHEN jsonb_typeof({source} -> {key}) = 'array' THEN ARRAY("
            f"SELECT DISTINCT array_position({options}, e #>> '{{}}')::smallint FROM jsonb_array_elements({source} -> {key}) e "
            f"WHERE jsonb_typeof(e) = 'string' AND array_position({options}, e #>> '{{}}') IS NOT NULL ORDER BY 1) END)"
        )
    return fl.pg_value_sql(source, spec)


# The stored form of a datetime (query.values.normalize_datetime and the schema's validation write only this);
# anything else gets no epoch (the JSON path's histogram would have to parse it, or fail on it).
_NORMALISED = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"


def epoch_sql(text: str) -> str:
    """Seconds since 1970 of a stored datetime's text, by arithmetic: the same number as
    ``extract(epoch from text::timestamptz)`` for every valid value, and never an error (a day the calendar
    does not have, which the cast refuses, gets a number)."""
    y, m, d = (f"substr({text}, {a}, {n})::integer" for a, n in ((1, 4), (6, 2), (9, 2)))
    yy = f"({y} - CASE WHEN {m} <= 2 THEN 1 ELSE 0 END)"
    era = f"({yy} / 400)"
    yoe = f"({yy} - {era} * 400)"
    doy = f"((153 * mod({m} + 9, 12) + 2) / 5 + {d} - 1)"
    doe = f"({yoe} * 365 + {yoe} / 4 - {yoe} / 100 + {doy})"
    days = f"({era} * 146097 + {doe} - 719468)"
    seconds = (
        f"(substr({text}, 12, 2)::integer * 3600 + substr({text}, 15, 2)::integer * 60 "
        f"+ substr({text}, 18, length({text}) - 18)::numeric)"
    )
    return f"(CASE WHEN {text} ~ '{_NORMALISED}' THEN ({days}::numeric * 86400 + {seconds})::double precision END)"


def _select_sql(columns: list[Column], rows: str) -> str:
    """``SELECT id, <stored columns>`` from `rows` (``<relation> r WHERE ...``, its metadata in r.SOURCE)."""
    inner = ", ".join(["r.id AS item_id"] + [f"{typed_sql(c, f'r.{SOURCE}')} AS {c.name}" for c in columns])
    outer = ["s.item_id"]
    for c in columns:
        outer.append(f"s.{c.name}")
        if c.family == "datetime":
            outer.append(epoch_sql(f"s.{c.name}"))
    return f"SELECT {', '.join(outer)} FROM (SELECT {inner} FROM {rows}) s"


def _sync_sql(table: str, workspace_id: int, columns: list[Column]) -> tuple[str, str]:
    stored = [name for name, _ in _stored(columns)]
    names = ", ".join(["item_id", *stored])
    select = _select_sql(columns, f"new_rows r WHERE r.workspace_id = {int(workspace_id)}")
    if stored:
        assign = ", ".join(f"{c} = EXCLUDED.{c}" for c in stored)
        current = ", ".join(f"p.{c}" for c in stored)
        incoming = ", ".join(f"EXCLUDED.{c}" for c in stored)
        conflict = f"DO UPDATE SET {assign} WHERE ROW({current}) IS DISTINCT FROM ROW({incoming})"
    else:
        conflict = "DO NOTHING"
    upsert = f"INSERT INTO {table} AS p ({names}) {select} ON CONFLICT (item_id) {conflict}"
    delete = f"DELETE FROM {table} p USING old_rows o WHERE o.workspace_id = {int(workspace_id)} AND p.item_id = o.id"
    return upsert, delete


def _index_sql(table: str, columns: list[Column], concurrently: str) -> list[str]:
    """One B-tree per scalar column, keyed by the column alone: an option, boolean or repeated string is stored
    once per value with the list of its rows (B-tree deduplication: a tenth of ``(column, item_id)``'s size). A
    number's or datetime's also carries the small columns the facet pass and compound counts read (INCLUDE; a
    datetime there as its epoch only, its text being the key of its own B-tree). Per multi-enum option a partial
    ``(item_id) WHERE column @> '{k}'``."""
    statements = []
    small = [c.epoch if c.family == "datetime" else c.name for c in columns if c.family in _SMALL]
    for n, column in enumerate(columns):
        name = f"{table}_{n}"
        if column.family == "multi_enum":
            for k in range(1, len(column.spec.options) + 1):
                statements.append(
                    f"CREATE INDEX {concurrently} IF NOT EXISTS {name}_{k} ON {table} (item_id) WHERE {column.name} @> '{{{k}}}'::smallint[]"
                )
            continue
        include = ""
        if column.family in _ORDERED:
            others = [c for c in small if c != column.name][:MAX_INCLUDED]
            include = f" INCLUDE ({', '.join(others)})" if others else ""
        statements.append(f"CREATE INDEX {concurrently} IF NOT EXISTS {name} ON {table} ({column.name}){include}")
    return statements


def count_grids(workspace_id: int, columns: list[Column], cursor) -> dict[str, list[float]]:
    """The count store's grid of each number and datetime, from its range over the workspace's items now (two
    index ends when the field's JSON index exists). Any grid gives exact counts; one that fits the data keeps
    the reads small."""
    result: dict[str, list[float]] = {}
    for column in columns:
        if column.family not in ("float", "integer", "datetime"):
            continue
        value = typed_sql(column, "r.client_metadata")
        rows = f"FROM {Item._meta.db_table} r WHERE r.workspace_id = {int(workspace_id)} AND {value} IS NOT NULL"
        ends = f"(SELECT {value} {rows} ORDER BY 1 LIMIT 1), (SELECT {value} {rows} ORDER BY 1 DESC LIMIT 1)"
        if column.family == "datetime":
            cursor.execute(f"SELECT {epoch_sql('e.lo')}, {epoch_sql('e.hi')} FROM (SELECT {ends}) e(lo, hi)")
        else:
            cursor.execute(f"SELECT {ends}")
        low, high = cursor.fetchone()
        result[column.name] = list(counts.grid_for(low, high, integer=column.family == "integer"))
    return result


@contextmanager
def _build_lock(workspace_id: int):
    """One build (or suspension) of a workspace's projection at a time (polled: lib/locks.py)."""
    with polled_advisory_lock(f"msx-projection:{workspace_id}"):
        yield


def _wait_out_writers(cursor) -> None:
    """Wait for every open write transaction on items_item to end, and keep new ones out until commit: a
    trigger that read the registry before our change must not write a table we drop or miss one we fill."""
    cursor.execute(f"LOCK TABLE {Item._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


TRIGGERS = {
    "msx_projection_insert": "AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows",
    "msx_projection_update": "AFTER UPDATE ON {table} REFERENCING NEW TABLE AS new_rows",
    "msx_projection_delete": "AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows",
}


def _switch_triggers(cursor) -> None:
    """Create the triggers while some projection is maintained, drop them when none is (under the lock of
    `_wait_out_writers`). A trigger with a transition table, even a disabled one, makes PostgreSQL copy
    every row a statement writes: a bulk import that suspended the last projection should not pay for it."""
    table = Item._meta.db_table
    wanted = Projection.objects.filter(maintained=True).exists()
    cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s)", [table, list(TRIGGERS)])
    present = {row[0] for row in cursor.fetchall()}
    if present == (set(TRIGGERS) if wanted else set()):
        return
    # DDL on the table is refused while this transaction still has deferred constraint checks queued (rows it
    # wrote before): check them now, as the commit would.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name, when in TRIGGERS.items():
        if wanted and name not in present:
            cursor.execute(
                f"CREATE TRIGGER {name} {when.format(table=table)} FOR EACH STATEMENT EXECUTE FUNCTION msx_projection_sync()"
            )
        elif not wanted and name in present:
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def is_current(workspace_id: int, schema: Schema) -> bool:
    """Whether the workspace's projection is built, maintained and of this schema (one registry read)."""
    return built_at(workspace_id, schema) is not None


def built_at(workspace_id: int, schema: Schema, *, using: str | None = None):
    """When the workspace's current projection (built, maintained, of this schema) was built, or None."""
    return (Projection.objects.using(using or read_connection().alias)
            .filter(workspace_id=workspace_id, ready=True, maintained=True, fingerprint=fingerprint(columns_for(schema)))
            .values_list("built_at", flat=True).first())


def build(*, workspace_id: int, schema: Schema) -> str:
    """Build (or rebuild) the workspace's projection for `schema` while writes go on; idempotent.

    1. register it as maintained (not ready) and create the table empty, once no write is in flight: from
       then on the triggers write every change into it;
    2. fill it from the items in one INSERT ... SELECT that keeps rows the triggers wrote meanwhile (ON
       CONFLICT DO NOTHING; a trigger's upsert waits for the fill's row and overwrites it);
    3. index it (CONCURRENTLY), VACUUM (ANALYZE) it for index-only scans;
    4. once no write is in flight, drop the rows of items deleted while it filled, and mark it ready.

    Returns "unchanged", "built" or "skipped" (not PostgreSQL).
    """
    if connection.vendor != "postgresql":
        return "skipped"
    columns = columns_for(schema)
    if not columns:  # nothing declared: nothing to count by
        drop(workspace_id=workspace_id)
        return "skipped"
    print_ = fingerprint(columns)
    table = table_name(workspace_id)
    with _build_lock(workspace_id):
        if is_current(workspace_id, schema) and _exists(table) and _exists(counts.store_name(workspace_id)):
            return "unchanged"
        upsert, delete = _sync_sql(table, workspace_id, columns)
        definitions = "".join(f", {name} {sql_type}" for name, sql_type in _stored(columns))
        with connection.cursor() as cursor:  # the count store's grid, from the data's range now (any grid is exact)
            grid = count_grids(workspace_id, columns, cursor)
        with transaction.atomic(), connection.cursor() as cursor:
            _wait_out_writers(cursor)
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in counts.drop_sql(workspace_id):
                cursor.execute(statement)
            cursor.execute(f"CREATE TABLE {table} (item_id bigint PRIMARY KEY{definitions})")
            # The count store, empty like the table: the fill below and every write after it reach it by its triggers.
            for statement in counts.create_sql(workspace_id, table, counts.slots(columns, grid)):
                cursor.execute(statement)
            Projection.objects.update_or_create(
                workspace_id=workspace_id,
                defaults={
                    "fingerprint": print_, "count_grid": grid,
                    "upsert_sql": upsert, "delete_sql": delete, "maintained": True, "ready": False, "built_at": None,
                },
            )
            _switch_triggers(cursor)
        names = ", ".join(["item_id"] + [name for name, _ in _stored(columns)])
        rows = f"{Item._meta.db_table} r WHERE r.workspace_id = {int(workspace_id)}"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({names}) {_select_sql(columns, rows)} ON CONFLICT (item_id) DO NOTHING")
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        with connection.cursor() as cursor:
            for statement in _index_sql(table, columns, concurrently):
                cursor.execute(statement)
            cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {table}")
        with transaction.atomic(), connection.cursor() as cursor:
            _wait_out_writers(cursor)
            cursor.execute(
                f"DELETE FROM {table} p WHERE NOT EXISTS (SELECT 1 FROM {Item._meta.db_table} i WHERE i.id = p.item_id)"
            )
            Projection.objects.filter(workspace_id=workspace_id).update(ready=True, built_at=timezone.now())
    return "built"


def suspend(*, workspace_id: int) -> bool:
    """Stop maintaining the workspace's projection and drop it (a bulk write of most of its items is
    coming; `build` makes it again). True when there was one."""
    if connection.vendor != "postgresql":
        return False
    with _build_lock(workspace_id), transaction.atomic(), connection.cursor() as cursor:
        if not Projection.objects.filter(workspace_id=workspace_id, maintained=True).exists():
            return False
        _wait_out_writers(cursor)
        Projection.objects.filter(workspace_id=workspace_id).update(maintained=False, ready=False)
        cursor.execute(f"DROP TABLE IF EXISTS {table_name(workspace_id)}")
        for statement in counts.drop_sql(workspace_id):
            cursor.execute(statement)
        _switch_triggers(cursor)
    return True


def drop(*, workspace_id: int) -> None:
    """Forget the workspace's projection (the workspace is going away)."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        if not Projection.objects.filter(workspace_id=workspace_id).exists():
            return
        _wait_out_writers(cursor)
        Projection.objects.filter(workspace_id=workspace_id).delete()
        cursor.execute(f"DROP TABLE IF EXISTS {table_name(workspace_id)}")
        for statement in counts.drop_sql(workspace_id):
            cursor.execute(statement)
        _switch_triggers(cursor)


def vacuum(*, workspace_id: int) -> bool:
    """VACUUM (ANALYZE) the workspace's projection after a bulk write (only ANALYZE inside a transaction):
    index-only scans need the visibility map the writes cleared. Its count store and change log too: compaction and
    pruning delete their rows, and a bulk write logs two rows an item (a 1,000,000-row import left 1.9 million dead
    log rows, 339 MB, where autovacuum is off), whose room only a VACUUM gives back to later writes. True when there
    was one to vacuum."""
    if connection.vendor != "postgresql" or not Projection.objects.filter(workspace_id=workspace_id, ready=True).exists():
        return False
    table = table_name(workspace_id)
    if not _exists(table):
        return False
    counts.compact(workspace_id=workspace_id)
    tables = [table] + [t for t in (counts.store_name(workspace_id), counts.delta_name(workspace_id)) if _exists(t)]
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {', '.join(tables)}")
    return True


def drop_table(table: str) -> None:
    """Drop a projection table whose registry row is gone (its workspace was deleted); nothing to do when
    `drop` or `suspend` took it already."""
    if connection.vendor != "postgresql" or not _exists(table):
        return
    with transaction.atomic(), connection.cursor() as cursor:
        _wait_out_writers(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")
        found = re.fullmatch(r"msx_w([0-9]+)_p", table)
        if found:
            for statement in counts.drop_sql(int(found.group(1))):
                cursor.execute(statement)
        _switch_triggers(cursor)


def is_missing(*, workspace_id: int, schema: Schema) -> bool:
    """Whether `build` has work to do (PostgreSQL only)."""
    if connection.vendor != "postgresql" or not len(schema):
        return False
    return not (
        is_current(workspace_id, schema) and _exists(table_name(workspace_id)) and _exists(counts.store_name(workspace_id))
    )


def _exists(table: str) -> bool:
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return bool(cursor.fetchone()[0])


def stored_counts(workspace_id: int, schema: Schema) -> counts.Counts | None:
    """The workspace's count store read in one snapshot, when it is in use for `schema` (`explorer.counts`)."""
    if connection.vendor != "postgresql" or not len(schema):
        return None
    columns = columns_for(schema)
    return counts.read(workspace_id, columns, fingerprint(columns))


def stored_total(query: fl.Query, *, schema: Schema, workspace) -> int | None:
    """The workspace's item total from the count store when it answers `query` (no condition, the whole
    workspace), else None."""
    if not counts.is_unfiltered(query):
        return None
    store = stored_counts(workspace.pk, schema)
    return None if store is None else store.total


# ----------------------------------------------------------------------------------------------
# Reading: conditions compiled to the projection's columns


class NotProjected(Exception):
    """The query needs something the projection cannot answer exactly; use the JSON path."""


@dataclass
class ProjectionCompiler(Compiler[tuple[str, list]]):
    """Compiles filter queries to SQL (and params) over one workspace's projection (alias ``p``): the typed
    projection's implementation of the compiler interface. Raises NotProjected for what it cannot answer."""

    workspace: Any
    schema: Schema
    table: str
    columns: dict[str, Column]

    @classmethod
    def for_workspace(cls, workspace, schema: Schema) -> ProjectionCompiler | None:
        """The compiler of the workspace's projection, or None (not PostgreSQL, not built, stale)."""
        if connection.vendor != "postgresql":
            return None
        if not is_current(workspace.pk, schema):
            return None
        return cls(workspace, schema, table_name(workspace.pk), {c.spec.name: c for c in columns_for(schema)})

    # -- conditions ------------------------------------------------------------------------------

    def all_of(self, parts: list[tuple[str, list]]) -> tuple[str, list]:
        if not parts:
            return "TRUE", []
        return " AND ".join(sql for sql, _ in parts), [x for _, p in parts for x in p]

    def any_of(self, parts: list[tuple[str, list]]) -> tuple[str, list]:
        return "(" + " OR ".join(sql for sql, _ in parts) + ")", [x for _, p in parts for x in p]

    def where(self, query: fl.Query) -> tuple[str, list]:
        """SQL (and params) of the query's scope and conditions: ``TRUE`` when there are none."""
        parts: list[tuple[str, list]] = []
        if query.scope.kind != "workspace":
            parts.append(self._items_in(scope_q(self.workspace, query.scope, schema=self.schema)))
        conditions = self.conditions(query)
        if conditions[0] != "TRUE":
            parts.append(conditions)
        return self.all_of(parts)

    def _items_in(self, q: Q) -> tuple[str, list]:
        """``p.item_id IN (<the workspace's items matching q>)``: built-ins and scopes read the items."""
        sub = Item.objects.filter(Q(workspace_id=self.workspace.pk) & q).values("id")
        sql, params = sub.query.sql_with_params()
        return f"p.item_id IN ({sql})", list(params)

    def column(self, name: str) -> Column:
        column = self.columns.get(name)
        if column is None:
            raise NotProjected(name)
        return column

    def condition(self, c: fl.Condition) -> tuple[str, list]:
        if c.builtin or c.undeclared:  # an undeclared key has no column: read the items' JSON
            return self._items_in(fl.condition_q(c, schema=self.schema))
        column = self.column(c.field)
        col, family, op, value = f"p.{column.name}", column.family, c.op, c.value
        if op == fl.IS_SET:
            return f"{col} IS NOT NULL", []
        if op == fl.IS_UNSET:
            return f"{col} IS NULL", []
        if family == "enum":
            codes = [self._code(column, v) for v in (value if isinstance(value, tuple) else (value,))]
            if op == fl.EQ:
                return f"{col} = {codes[0]}", []
            if op == fl.NE:
                return f"{col} <> {codes[0]}", []
            return f"{col} IN ({', '.join(map(str, codes))})", []
        if family == "multi_enum":
            tests = [f"{col} @> '{{{self._code(column, v)}}}'::smallint[]" for v in value]
            if op == fl.HAS_ANY:
                return "(" + " OR ".join(tests) + ")", []
            if op == fl.HAS_ALL:
                return "(" + " AND ".join(tests) + ")", []
            return f"({col} IS NOT NULL AND NOT ({' OR '.join(tests)}))", []
        if family == "boolean":
            wanted = value if op == fl.EQ else not value
            return f"{col} = {'true' if wanted else 'false'}", []
        if op == fl.CONTAINS:
            return self._contains(column, value)
        if op == fl.STARTSWITH:
            return f"{col} LIKE %s", [fl.like_escape(value) + "%"]
        if family == "datetime" and op != fl.IN:
            any_of, terms = fl.datetime_terms(op, value)
            joined = (" OR " if any_of else " AND ").join(f"{col} {SQL_COMPARISONS[o]} %s" for o, _ in terms)
            return f"({joined})", [bound for _, bound in terms]
        if op == fl.BETWEEN:
            return f"{col} >= %s AND {col} <= %s", [value[0], value[1]]
        if op == fl.IN:
            return f"{col} IN ({', '.join(['%s'] * len(value))})", list(value)
        return f"{col} {SQL_COMPARISONS[op]} %s", [value]

    @staticmethod
    def _code(column: Column, option: str) -> int:
        try:
            return column.spec.options.index(option) + 1
        except ValueError:  # validated queries only name options; an old one is answered from the JSON
            raise NotProjected(column.spec.name) from None

    def _contains(self, column: Column, needle: str) -> tuple[str, list]:
        col, pattern = f"p.{column.name}", like_pattern(needle)
        if self._distinct(column) <= SKIP_SCAN_MAX_DISTINCT:
            # The distinct values by a skip scan of the column's B-tree, then an index-only count of the
            # matching ones: 500 cameras cost 500 probes instead of a scan of 1,000,000 rows.
            c = column.name
            distinct = (
                f"WITH RECURSIVE d(v) AS (SELECT min({c}) FROM {self.table} UNION ALL "
                f"SELECT (SELECT min({c}) FROM {self.table} WHERE {c} > d.v) FROM d WHERE d.v IS NOT NULL) "
                "SELECT v FROM d WHERE v ILIKE %s"
            )
            return f"{col} = ANY(ARRAY({distinct}))", [pattern]
        return f"{col} ILIKE %s", [pattern]

    def _distinct(self, column: Column) -> float:
        """The planner's estimate of the column's distinct values (pg_stats; unknown: many)."""
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT s.n_distinct, c.reltuples FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
                "WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = %s",
                [self.table, column.name],
            )
            row = cursor.fetchone()
        if row is None or row[0] is None:
            return float("inf")
        n_distinct, reltuples = row
        return n_distinct if n_distinct >= 0 else -n_distinct * max(reltuples, 0)

    # -- reads -----------------------------------------------------------------------------------

    def count(self, query: fl.Query) -> int:
        where, params = self.where(query)
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.table} p WHERE {where}", params)
            return cursor.fetchone()[0]

    def value(self, spec: FieldSpec) -> str:
        """SQL of the field's value as the JSON path gives it (an enum's option text, not its code)."""
        column = self.column(spec.name)
        if column.family == "enum":
            return f"({_options_array(spec)})[nullif(p.{column.name}, 0)]".replace("%", "%%")
        return f"p.{column.name}"

    def epoch(self, spec: FieldSpec) -> str:
        """SQL of a datetime field's seconds since 1970 (NULL when unset or not in the stored form)."""
        return f"p.{self.column(spec.name).epoch}"

    def has(self, spec: FieldSpec, option: str) -> str:
        column = self.column(spec.name)
        return f"coalesce(p.{column.name} @> '{{{self._code(column, option)}}}'::smallint[], false)"

"""Index support for every declared field, built without anyone asking.

Design (measured in bench/README.md, "Explorer"): metadata stays in ``items_item.client_metadata``
(JSONB on PostgreSQL) and every code path that writes it keeps working unchanged; the indexes are
*expression* indexes on exactly the typed expressions the filter compiler emits
(`query.sql.pg_value_sql`), so the planner matches them. On PostgreSQL, per workspace (partial
indexes ``WHERE workspace_id = <id>``; queries carry the literal because Django binds parameters
client-side):

- every number, datetime, string and link field: a B-tree on ``(value, id)``: ranges, equality,
  is_set, sorting and keyset paging (``(value, id) > (v, pk)`` seeks);
- every enum option, boolean value and multi-enum option: a tiny B-tree on ``(id)`` whose
  predicate *is* the condition (``value = 'Sunny'``, ``md -> 'colors' @> '["red"]'``), so exact
  counts are index-only scans and OR/AND of options are bitmap OR/AND (enum and boolean fields get
  no B-tree of their own: sorting by them is a top-N sort of the filtered items);
- string fields: a pg_trgm GIN index for case-insensitive substring search (when the extension
  can be created; links get none: a GIN costs more on every metadata write than it saves);
- every scalar field: an expression statistics object (``CREATE STATISTICS ... ON (value)``),
  because ANALYZE keeps no statistics for the expressions of partial indexes.

On SQLite: one ``(workspace_id, value, id)`` expression index per scalar field, and per multi-enum
option a partial ``(workspace_id, id)`` index whose predicate is the condition (`query.sql.sqlite_has_predicate`).

Names are deterministic (``msx_w<workspace>_<field>_<hash>``), creation is idempotent, indexes of
fields that are no longer declared (or changed type) are dropped, and invalid leftovers of an
interrupted ``CREATE INDEX CONCURRENTLY`` are rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction

from metadata_site.items.models import Item
from metadata_site.lib.locks import polled_advisory_lock
from metadata_site.lib.maintenance import vacuum_analyze
from metadata_site.schemas.fields import FieldSpec, Schema

from .query.operators import type_key
from .query.sql import pg_value_sql, sql_literal, sqlite_has_predicate, sqlite_value_sql

log = logging.getLogger(__name__)

TABLE = "items_item"
COLUMN = "client_metadata"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    sql: str  # CREATE INDEX {concurrently} IF NOT EXISTS <name> ...


def _name(workspace_id: int, spec: FieldSpec, what: str) -> str:
    digest = hashlib.sha1(json.dumps([spec.name, type_key(spec), what]).encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_")[:20] or "f"
    return f"msx_w{workspace_id}_{slug}_{digest}"


def prefix(workspace_id: int) -> str:
    return f"msx_w{workspace_id}_"


def pg_index_specs(workspace_id: int, schema: Schema, *, trigram: bool) -> list[IndexSpec]:
    where = f"workspace_id = {int(workspace_id)}"
    specs: list[IndexSpec] = []

    def add(spec: FieldSpec, what: str, body: str) -> None:
        name = _name(workspace_id, spec, what)
        specs.append(IndexSpec(name, f"CREATE INDEX {{concurrently}} IF NOT EXISTS {name} ON {TABLE} {body}"))

    for spec in schema:
        family = type_key(spec)
        value = pg_value_sql(COLUMN, spec)
        if family == "multi_enum":
            raw = f"({COLUMN} -> {sql_literal(spec.name)})"
            for option in spec.options:
                literal = sql_literal(json.dumps([option]))
                add(spec, f"has:{option}", f"(id) WHERE {where} AND {raw} @> {literal}::jsonb")
            continue
        # ANALYZE keeps no statistics for expressions of *partial* indexes; without these the
        # planner guesses selectivities (0.5% for any equality) and picks poor plans.
        stats = _name(workspace_id, spec, "stats")
        specs.append(IndexSpec(stats, f"CREATE STATISTICS IF NOT EXISTS {stats} ON ({value}) FROM {TABLE}"))
        if family == "enum":
            for option in spec.options:
                add(spec, f"eq:{option}", f"(id) WHERE {where} AND {value} = {sql_literal(option)}")
            continue
        if family == "boolean":
            for flag in ("true", "false"):
                add(spec, f"eq:{flag}", f"(id) WHERE {where} AND {value} = {flag}")
            continue
        add(spec, "btree", f"({value}, id) WHERE {where}")
        if family == "string" and trigram:
            add(spec, "trgm", f"USING gin ({value} gin_trgm_ops) WHERE {where}")
    return specs


def sqlite_index_specs(workspace_id: int, schema: Schema) -> list[IndexSpec]:
    specs = []
    for spec in schema:
        if type_key(spec) == "multi_enum":
            for option in spec.options:
                predicate = sqlite_has_predicate(COLUMN, spec, option)
                if predicate:
                    name = _name(workspace_id, spec, f"sqlite-has2:{option}")
                    specs.append(IndexSpec(name, f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} (workspace_id, id) WHERE {predicate}"))
            continue
        name = _name(workspace_id, spec, "sqlite")
        value = sqlite_value_sql(COLUMN, spec)
        specs.append(IndexSpec(name, f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} (workspace_id, {value}, id)"))
    return specs


def _pg_trigram_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if not cursor.fetchone():
            return False
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # no privilege: substring search still works, without an index
            log.warning("pg_trgm is available but could not be created; substring search is not indexed")
            return False
    return True


def _existing(workspace_id: int) -> dict[str, bool]:
    """Our indexes (and statistics objects) of this workspace: name -> valid."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            pattern = prefix(workspace_id).replace("_", "\\_") + "%"
            cursor.execute(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND c.relname LIKE %s "
                "UNION ALL SELECT stxname, true FROM pg_statistic_ext WHERE stxrelid = %s::regclass AND stxname LIKE %s",
                [TABLE, pattern, TABLE, pattern],
            )
        else:
            cursor.execute(
                "SELECT name, 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND name LIKE %s ESCAPE '\\'",
                [TABLE, prefix(workspace_id).replace("_", "\\_") + "%"],
            )
        return {name: bool(valid) for name, valid in cursor.fetchall()}


def ensure_field_indexes(*, workspace_id: int, schema: Schema) -> dict[str, list[str]]:
    """Create the indexes `schema` needs in the workspace and drop ours it no longer needs.

    Uses CREATE INDEX CONCURRENTLY on PostgreSQL unless called inside a transaction (tests run
    tasks inside one). Returns {"created": [...], "dropped": [...]}.
    """
    concurrently = _concurrently()
    wanted = _wanted(workspace_id, schema)
    if connection.in_atomic_block:
        # Only when run synchronously inside a transaction (tests): PostgreSQL refuses DDL on a
        # table with pending trigger events, which must not abort the caller's transaction.
        try:
            with _one_at_a_time(workspace_id), transaction.atomic():
                return _apply(workspace_id, wanted, concurrently)
        except DatabaseError as exc:
            log.warning("field indexes of workspace %s not built inside a transaction: %s", workspace_id, exc)
            return {"created": [], "dropped": []}
    with _one_at_a_time(workspace_id):
        return _apply(workspace_id, wanted, concurrently)


def _one_at_a_time(workspace_id: int):
    """One change of a workspace's indexes at a time, across workers: two builds side by side deadlocked or
    dropped the index the other was building (still invalid): "tuple concurrently updated"."""
    return polled_advisory_lock(f"msx-indexes:{workspace_id}")


def _wanted(workspace_id: int, schema: Schema) -> list[IndexSpec]:
    if connection.vendor == "postgresql":
        return pg_index_specs(workspace_id, schema, trigram=_pg_trigram_available())
    return sqlite_index_specs(workspace_id, schema)


def _concurrently() -> str:
    """CONCURRENTLY on PostgreSQL, unless inside a transaction (tests run tasks inside one)."""
    return "CONCURRENTLY" if connection.vendor == "postgresql" and not connection.in_atomic_block else ""


def _statistics(cursor, names) -> set[str]:
    """Which of our `names` are statistics objects (dropped with DROP STATISTICS), not indexes."""
    if connection.vendor != "postgresql":
        return set()
    cursor.execute("SELECT stxname FROM pg_statistic_ext WHERE stxname = ANY(%s)", [list(names)])
    return {row[0] for row in cursor.fetchall()}


def _apply(workspace_id: int, wanted: list[IndexSpec], concurrently: str) -> dict[str, list[str]]:
    existing = _existing(workspace_id)
    wanted_names = {s.name for s in wanted}
    created, dropped = [], []
    with connection.cursor() as cursor:
        statistics = _statistics(cursor, existing)
        for name, valid in existing.items():
            if name not in wanted_names or not valid:
                if name in statistics:
                    cursor.execute(f"DROP STATISTICS IF EXISTS {name}")
                else:
                    cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
                dropped.append(name)
        for spec in wanted:
            if existing.get(spec.name):
                continue
            cursor.execute(spec.sql.replace("{concurrently}", concurrently))
            created.append(spec.name)
    if created:
        # Statistics for the new expressions, and on PostgreSQL (outside a transaction) the visibility map
        # the per-option indexes need for index-only counts: a table just filled by an import has none.
        if connection.vendor == "postgresql":
            vacuum_analyze(Item)
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {TABLE}")
    return {"created": created, "dropped": dropped}


# --- bulk writes ---------------------------------------------------------------------------------

# An import that writes at least this many rows, and at least this share of the workspace's items, drops
# the workspace's field indexes first and has them rebuilt when it is done: keeping 25 expression indexes
# in step cost 22 µs a row (1,000,000 merge rows: 53.2 s with them, 31.1 s without), a rebuild 13 µs an
# item of the workspace (25 indexes of 1,000,000 items: 13.4 s, CONCURRENTLY, while the explorer works).
SUSPEND_MIN_ROWS = 100_000
SUSPEND_MIN_SHARE = 0.5


def should_suspend(*, rows: int, workspace_items: int) -> bool:
    return rows >= SUSPEND_MIN_ROWS and rows >= SUSPEND_MIN_SHARE * workspace_items


def suspend_field_indexes(*, workspace_id: int) -> list[str]:
    """Drop the workspace's field indexes (not its statistics objects, which cost writes nothing) before a
    bulk write; `missing_field_indexes` then tells that they must be built again. Queries stay exact
    meanwhile, only slower (sequential and bitmap scans of the item table). The typed projection is
    dropped too (`projection.suspend`): its triggers would cost the write as much as the indexes."""
    from . import projection

    concurrently = _concurrently()
    dropped = []
    with _one_at_a_time(workspace_id), connection.cursor() as cursor:
        existing = _existing(workspace_id)
        statistics = _statistics(cursor, existing)
        for name in existing:
            if name not in statistics:
                cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
                dropped.append(name)
    if projection.suspend(workspace_id=workspace_id):
        dropped.append(projection.table_name(workspace_id))
    return dropped


def missing_field_indexes(*, workspace_id: int, schema: Schema) -> list[str]:
    """The names of the indexes `schema` wants in the workspace that are missing or invalid, and of its
    typed projection when it is missing or stale."""
    from . import projection

    existing = _existing(workspace_id)
    missing = [spec.name for spec in _wanted(workspace_id, schema) if not existing.get(spec.name)]
    if projection.is_missing(workspace_id=workspace_id, schema=schema):
        missing.append(projection.table_name(workspace_id))
    return missing

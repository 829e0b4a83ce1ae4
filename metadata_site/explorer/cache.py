"""Counts and facets kept across requests, and patched after writes instead of computed again.

Paging, sorting, switching grid and table, going back: every explorer page asks again for the count and the facets
of the same filter, and at ten million items a compound filter's facet pass reads about two million index entries.
What only the typed projection decides (the workspace scope and conditions on declared fields) is kept in Django's
cache, keyed by the filter, the schema's fingerprint, the projection's build time and whatever else the figure
depends on (a histogram's buckets), together with the **snapshot** it was computed in and the projection's
**version** there (`explorer.counts.version`: how many committed statements wrote the projection).

A reader pins one snapshot (a REPEATABLE READ transaction on the connection it reads from) and then:

- finds the kept figure at its own version, or at a later one (computed in a snapshot that already saw every
  write this one sees, and more): served as it is;
- finds it at an earlier version: *patches* it. Every statement that writes the projection also writes the rows it
  changed to the workspace's change log (`explorer.counts`: old rows with sign -1, new rows with +1, tagged with the
  writing transaction); the log rows this snapshot sees and the kept one did not (``pg_visible_in_snapshot``) are
  exactly the difference between the two states, and a count or facet is a sum over rows, so the figure plus the
  signed figure of those few rows is the exact figure now. A one-item edit costs a read of two log rows instead of
  a facet pass over two million;
- computes it when there is none, or when it cannot be patched: the log holds a large statement's overflow row
  instead of its rows (a bulk import's batch), more than PATCH_ROWS_MAX rows, or a pruned part (the kept snapshot
  is older than the log's horizon).

The kept figure is therefore always the figure of one committed state that this reader's snapshot sees or that
came after it. A scope (folder, dataset, collection) or a built-in or undeclared condition reads other tables and
is never kept, nor is anything computed inside a caller's transaction (its snapshot cannot be pinned, and its own
writes are not committed).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

from metadata_site.db_router import read_connection
from metadata_site.schemas.fields import Schema

from . import counts
from . import query as fl
from .projection import ProjectionCompiler, built_at, columns_for, fingerprint

TIMEOUT = 600  # seconds
PATCH_ROWS_MAX = 200_000  # log rows a patch reads at most (about 100 ms); beyond, the figure is computed again


def cacheable(query: fl.Query) -> bool:
    """Whether the projection alone decides `query`: the whole workspace, declared fields only."""
    return query.scope.kind == "workspace" and not any(c.builtin or c.undeclared for c in (*query.all, *query.any))


@dataclass(frozen=True)
class Delta:
    """The change-log rows a kept figure has not seen: ``SELECT ... FROM <compiler.table> p WHERE <where>``, with
    the row's ``p.sign`` (+1 a row now, -1 a row before) and the projection's columns for `compiler`."""

    compiler: ProjectionCompiler
    where: str
    params: list


@dataclass(frozen=True)
class Kept:
    value: Any
    snapshot: str  # pg_snapshot text of the snapshot it was computed (or patched) in
    version: int


def remember[T](kind: str, query: fl.Query, *, schema: Schema, workspace, compute: Callable[[], T] | None,
                patch: Callable[[T, Delta], T | None] | None = None, key: Callable[[], Any] | None = None,
                also: Callable[[T], dict[str, Any]] | None = None) -> T:
    """`compute()`, or the kept value of the same `kind` and filter (patched by `patch(value, delta)` to this
    snapshot; None: compute). `key()`, called in the pinned snapshot before anything else, names what else the
    value depends on. `also(value)` may name other kinds' values found on the way (the facet pass counts its
    result): they are kept with it. Without `compute`, only a kept (or patched) value is returned, else None."""
    if connection.vendor != "postgresql" or not cacheable(query) or not len(schema) or read_connection().in_atomic_block:
        return compute() if compute else None
    reader = read_connection()
    with transaction.atomic(using=reader.alias):
        with reader.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _remember(kind, query, schema=schema, workspace=workspace, compute=compute, patch=patch, key=key,
                         also=also, reader=reader)


def _remember(kind, query, *, schema, workspace, compute, patch, key, also, reader):
    columns = columns_for(schema)
    print_ = fingerprint(columns)
    # The build's time too: a rebuilt projection (after a bulk import, say) has a new log and counts from 0 again.
    built = built_at(workspace.pk, schema, using=reader.alias)
    version = counts.version(workspace.pk) if built else None
    if version is None:
        return compute() if compute else None
    extra = key() if key else None

    def name(of: str, extra: Any = None) -> str:
        described = repr((of, query.all, query.any, print_, built.isoformat(), extra))
        return f"msx:{workspace.pk}:{hashlib.sha256(described.encode()).hexdigest()}"

    with reader.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        snapshot = cursor.fetchone()[0]
    def reuse() -> tuple[bool, Any]:
        """(whether the kept value is current, the kept value served as it is or patched, or None)."""
        kept = cache.get(name(kind, extra))
        if not isinstance(kept, Kept):
            return False, None
        if kept.version >= version:
            return True, kept.value
        if patch is None:
            return False, None
        delta = unseen(workspace.pk, kept.snapshot, columns=columns, schema=schema, workspace=workspace)
        return False, patch(kept.value, delta) if delta is not None else None

    current, value = reuse()
    if current:
        return value
    if value is None:
        if compute is None:
            return None
        # One computation at a time per figure in this process: the threads asking for it meanwhile wait for it
        # and then serve or patch it, instead of each reading the same millions of rows on the same cores.
        with _lock(name(kind, extra)):
            current, value = reuse()
            if current:
                return value
            if value is None:
                value = compute()
    cache.set(name(kind, extra), Kept(value, snapshot, version), TIMEOUT)
    for other, found in (also(value) if also else {}).items():
        if found is not None:
            cache.set(name(other), Kept(found, snapshot, version), TIMEOUT)
    return value


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        if len(_locks) > 10_000:  # figures no longer asked for: their locks go (a held one stays held by its owner)
            _locks.clear()
        return _locks.setdefault(key, threading.Lock())


def unseen(workspace_id: int, snapshot: str, *, columns: list, schema: Schema, workspace) -> Delta | None:
    """The log rows this (pinned) snapshot sees and `snapshot` did not, or None when they cannot patch a figure:
    the log was pruned past `snapshot`, a statement logged its overflow row, or there are too many."""
    log, horizon = counts.delta_name(workspace_id), counts.horizon_name(workspace_id)
    since = "p.xid >= pg_snapshot_xmin(%s::pg_snapshot) AND NOT pg_visible_in_snapshot(p.xid, %s::pg_snapshot)"
    reader = read_connection()
    try:  # in a savepoint: a log dropped by a rebuild meanwhile leaves the pinned transaction usable
        with transaction.atomic(using=reader.alias), reader.cursor() as cursor:
            # Every pruned row was visible in `deleted`: `snapshot` must see every transaction `deleted` sees (none
            # at or past its xmax, none still running in it that `deleted` saw as committed).
            cursor.execute(
                f"SELECT pg_snapshot_xmax(deleted) <= pg_snapshot_xmax(s) AND NOT EXISTS ("
                f"SELECT 1 FROM pg_snapshot_xip(s) x WHERE pg_visible_in_snapshot(x, deleted)) "
                f"FROM {horizon}, (SELECT %s::pg_snapshot AS s) k",
                [snapshot],
            )
            row = cursor.fetchone()
            if row is None or not row[0]:
                return None
            cursor.execute(
                f"SELECT count(*), coalesce(bool_or(sign = 0), false) FROM "
                f"(SELECT p.sign FROM {log} p WHERE {since} LIMIT {PATCH_ROWS_MAX + 1}) d",
                [snapshot, snapshot],
            )
            rows, overflow = cursor.fetchone()
    except DatabaseError:
        return None
    if overflow or rows > PATCH_ROWS_MAX:
        return None
    compiler = ProjectionCompiler(workspace, schema, log, {c.spec.name: c for c in columns})
    return Delta(compiler, f"{since} AND p.sign <> 0", [snapshot, snapshot])

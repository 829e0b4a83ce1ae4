"""Counts and facets kept across requests, and patched after writes instead of computed again.

Paging, sorting, switching grid and table, going back: every explorer page asks again for the count and the facets
of the same filter, and at ten million items a compound filter's facet pass reads about two million index entries.
What only the typed projection decides (the workspace scope and conditions on declared fields) is kept in the
``explorer`` cache of ``settings.CACHES`` (files under EXPLORER_CACHE_DIR, shared by every web process of the
machine), keyed by the database, the filter, the schema's fingerprint, the projection's build time and whatever else
the figure depends on (a histogram's buckets), together with the **snapshot** it was computed in and the
projection's **version** there (`explorer.counts.version`: how many committed statements wrote the projection).

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

import fcntl
import hashlib
import logging
import os
import pickle
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection, connections, transaction

from metadata_site.db_router import read_connection
from metadata_site.schemas.fields import Schema

from . import counts
from . import query as fl
from .projection import ProjectionCompiler, built_at, columns_for, fingerprint

logger = logging.getLogger(__name__)

CACHE = "explorer"  # the Django cache they are kept in (settings.CACHES: files shared by a machine's processes)
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
        pinned = _pin(query, schema=schema, workspace=workspace, using=reader.alias)
        if pinned is None:
            return compute() if compute else None
        name = pinned.name(kind, key() if key else None)
        found = _kept(name, pinned, patch)
        if found is None:
            if compute is None:
                return None
            # One computation at a time per figure on this machine: the threads and processes asking for it
            # meanwhile wait for it and then serve or patch it, instead of each reading the same millions of rows
            # on the same cores.
            with _single_flight(name):
                found = _kept(name, pinned, patch) or (compute(), True)
                return _keep(name, pinned, *found, also)
        return _keep(name, pinned, *found, also)


def _keep(name: str, pinned: _Pinned, value, changed: bool, also) -> Any:
    """Keep `value` (and what `also` names) when it changed; returns it. A store that cannot write (a full disk, an
    unwritable directory) keeps nothing: the figure is served all the same."""
    if changed:
        try:
            store = caches[CACHE]
            store.set(name, Kept(value, pinned.snapshot, pinned.version), TIMEOUT)
            for other, extra in (also(value) if also else {}).items():
                if extra is not None:
                    store.set(pinned.name(other), Kept(extra, pinned.snapshot, pinned.version), TIMEOUT)
        except OSError as exc:
            logger.warning("explorer cache: nothing kept (%s)", exc)
    return value


@dataclass(frozen=True)
class _Pinned:
    """What the pinned snapshot says of the workspace's projection, and the cache key of the filter in it."""

    prefix: str
    columns: list
    schema: Schema
    workspace: Any
    version: int
    snapshot: str

    def name(self, kind: str, extra: Any = None) -> str:
        return f"{self.prefix}:{kind}" if extra is None else f"{self.prefix}:{kind}:{_digest(repr(extra))}"


def _pin(query: fl.Query, *, schema: Schema, workspace, using: str) -> _Pinned | None:
    """The projection's build and version and the snapshot, read in the pinned transaction; None: no projection
    to keep figures of."""
    columns = columns_for(schema)
    # The build's time too: a rebuilt projection (after a bulk import, say) has a new log and counts from 0 again.
    built = built_at(workspace.pk, schema, using=using)
    version = counts.version(workspace.pk) if built else None
    if version is None:
        return None
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        snapshot = cursor.fetchone()[0]
    # The primary's database name: sites on one machine share the cache directory; a replica's figures are its
    # primary's (the same transactions and snapshots).
    described = repr((connections["default"].settings_dict["NAME"], query.all, query.any, fingerprint(columns),
                      built.isoformat()))
    return _Pinned(f"msx:{workspace.pk}:{_digest(described)}", columns, schema, workspace, version, snapshot)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _kept(name: str, pinned: _Pinned, patch) -> tuple[Any, bool] | None:
    """(the kept value served as it is, False) when it is current; (patched to this snapshot, True); None when there
    is none or it cannot be patched."""
    try:
        kept = caches[CACHE].get(name)
    except (OSError, EOFError, ValueError, zlib.error, pickle.UnpicklingError) as exc:  # unreadable: compute
        logger.warning("explorer cache: a kept figure could not be read (%s)", exc)
        kept = None
    if not isinstance(kept, Kept):
        return None
    if kept.version >= pinned.version:
        return kept.value, False
    if patch is None:
        return None
    delta = unseen(pinned.workspace.pk, kept.snapshot, columns=pinned.columns, schema=pinned.schema,
                   workspace=pinned.workspace)
    value = patch(kept.value, delta) if delta is not None else None
    return (value, True) if value is not None else None


LOCK_STRIPES = 256


@contextmanager
def _single_flight(name: str):
    """Hold one of LOCK_STRIPES lock files of EXPLORER_CACHE_DIR (``flock``: per open file, so it excludes threads
    of one process as well as processes; released when its holder dies). Two figures sharing a stripe only wait for
    each other. Without a writable directory, nothing is held: figures may then be computed twice, never wrongly."""
    directory = Path(settings.EXPLORER_CACHE_DIR) / "locks"
    stripe = int(_digest(name)[:8], 16) % LOCK_STRIPES
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / f"{stripe}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)


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

"""The count store: the unfiltered explorer's total, option counts and histograms without a scan (PostgreSQL).

Why: the unfiltered explorer of a workspace counts every item (its total, each option, each histogram bucket): a
scan of the whole typed projection, 0.62 s at 1,000,000 items and ~10 s at 10,000,000 (bench/README.md). Here,
per workspace, the counts are kept by the writes themselves, exact in every snapshot::

    msx_w<workspace>_c (s smallint, k bigint, n bigint)      -- append-only deltas: slot, key, +/- count

- Slots (`slots`): 0 the item total (key 0); per enum field its option's code (1-based; 0 a string that is no
  option); per multi enum each option code an item holds; per boolean 1 (true) / 0 (false); per number and
  datetime (its epoch seconds) the value's *fine bin* on a fixed grid chosen at build from the data's range
  (`Grid`: ``floor((v - origin) / width)``, `FINE_BINS` over the range, the same grid going on past it, so a
  value beyond the range gets a bin of its own, still exact; clamped to +/-2^40 bins).
- Written by statement-level AFTER INSERT / UPDATE / DELETE triggers WITH transition tables on the projection
  (`msx_w<workspace>_c_sync()`): one aggregated INSERT per statement (new rows +1, old rows -1, keys whose sum is 0
  left out: an update that changes no counted column writes nothing). No row is ever updated, so concurrent
  writers never wait on each other, and a reader's ``SELECT s, k, sum(n) ... GROUP BY s, k`` sees exactly the
  counts of its own MVCC snapshot (the total and every option count in one statement; a histogram's display
  range comes, as before, from its own two B-tree reads).
- Compaction (`compact`) folds the deltas into one row per key in one statement (``DELETE ... RETURNING`` + the
  sums; serialized by an advisory lock, a second one skips): run by the worker after a bulk write and by a reader
  that saw more than `COMPACT_ROWS` (or twice the keys) delta rows, so reads stay bounded.
- The same trigger writes the change log `msx_w<workspace>_d` (the projection's columns, ``sign`` -1 for an old row
  and +1 for a new one, ``xid`` the writing transaction; one overflow row, sign 0, for a statement of more than
  LOG_ROWS_MAX rows) and prunes it behind the horizon `msx_w<workspace>_h`: `explorer.cache` patches kept figures
  with it.
- Lifecycle: the projection's. `projection.build` creates the store (empty) with the projection's empty table, so
  that the projection's fill and every write after it go through the triggers; dropping or suspending the
  projection drops it; a schema change rebuilds both. Used only while the projection `is_current`.

A histogram (the display range is the field's current min..max from two B-tree ends, as in `facets`) is read as:
each fine bin whose values all fall into one display bucket adds its count there (decided in Python on the bin's
exact float bounds, with the same IEEE arithmetic as `query.sql.bucket_sql`); the few bins a bucket boundary cuts
(at most one per boundary, and the lowest) are counted on the projection, index-only range counts over the
column's B-tree grouped by `bucket_sql` itself. A folder, dataset or collection scope, or any
condition, is not served here (the store has no per-scope counts): those read the projection as before.
"""

from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, connection, transaction

from metadata_site.db_router import read_connection

from . import query as fl
from .models import Projection
from .query.sql import bucket_sql

log = logging.getLogger(__name__)

FINE_BINS = 1000  # fine bins over a number's or datetime's range at build
CLAMP = 2**40  # fine bins beyond +/- this many from the origin share the last one (read with a range count)
# A reader that sees more delta rows than this (and than twice the keys) compacts the store after its read.
COMPACT_ROWS = 5000
# A number field with more distinct fine bins than this (values spread far beyond the range at build) is not
# read from the store: the explorer counts it from the projection until the next build re-grids it.
MAX_BINS = 20000

TOTAL, ENUM, MULTI, BOOLEAN, BINS = "total", "enum", "multi", "boolean", "bins"
# The store's slot counting the statements that wrote the projection: its sum is the projection's version.
VERSION_SLOT = -1
# A statement writing more projection rows than this logs one "overflow" row (sign 0) instead of its rows: kept
# figures older than it are computed again rather than patched (a projection's fill). An import's batch (10,000
# rows) is logged, so the explorer's kept figures follow an import by patches.
LOG_ROWS_MAX = 10_000
# The change log is pruned by the first write after this many seconds (after LOG_PRUNE_BULK_SECONDS by a statement
# of more than LOG_BULK_ROWS rows, which fills it fast): what every snapshot taken before the previous pruning saw
# is deleted (a kept figure that old is computed again).
LOG_PRUNE_SECONDS = 60
LOG_PRUNE_BULK_SECONDS = 10
LOG_BULK_ROWS = 1000


def store_name(workspace_id: int) -> str:
    return f"msx_w{int(workspace_id)}_c"


def delta_name(workspace_id: int) -> str:
    """The change log: the projection's rows each statement wrote, old ones with sign -1, new ones with +1."""
    return f"msx_w{int(workspace_id)}_d"


def horizon_name(workspace_id: int) -> str:
    """The change log's pruning horizon: one row (`deleted`: every pruned row was visible in this snapshot)."""
    return f"msx_w{int(workspace_id)}_h"


def function_name(workspace_id: int) -> str:
    return f"msx_w{int(workspace_id)}_c_sync"


@dataclass(frozen=True)
class Grid:
    """A number's fine bins: bin f holds the values v with ``floor((v - origin) / width) = f`` (float8)."""

    origin: float
    width: float

    def key(self, v: float) -> int:
        """The bin of `v`, exactly as `sql` computes it in PostgreSQL (same IEEE double operations)."""
        if v < self.origin - CLAMP * self.width:
            return -CLAMP
        if v >= self.origin + CLAMP * self.width:
            return CLAMP
        return math.floor((v - self.origin) / self.width)

    def sql(self, value: str) -> str:
        low, high = _lit(self.origin - CLAMP * self.width), _lit(self.origin + CLAMP * self.width)
        return (
            f"(CASE WHEN {value} < {low} THEN {-CLAMP} WHEN {value} >= {high} THEN {CLAMP} "
            f"ELSE floor(({value} - {_lit(self.origin)}) / {_lit(self.width)})::bigint END)"
        )

    def first(self, f: int) -> float:
        """The lowest double of bin `f` (f is not clamped): a search over doubles near its nominal bound."""
        guess = self.origin + f * self.width
        step = max(abs(guess), abs(self.origin), self.width) * 1e-9 + 1e-300
        lo, hi = guess - step, guess + step  # key(lo) < f <= key(hi)
        while self.key(lo) >= f:
            lo -= step
            step *= 2
        step = max(abs(guess), abs(self.origin), self.width) * 1e-9 + 1e-300
        while self.key(hi) < f:
            hi += step
            step *= 2
        a, b = _ordered(lo), _ordered(hi)  # integers in the order of the doubles
        while b - a > 1:
            m = (a + b) // 2
            if self.key(_unordered(m)) >= f:
                b = m
            else:
                a = m
        return _unordered(b)

    def bounds(self, f: int) -> tuple[float | None, float | None]:
        """The lowest and highest double of bin `f` (None: unbounded, a clamped bin)."""
        low = None if f <= -CLAMP else self.first(f)
        high = None if f >= CLAMP else _unordered(_ordered(self.first(f + 1)) - 1)
        return low, high


def _ordered(x: float) -> int:
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)


def _unordered(n: int) -> float:
    bits = n if n >= 0 else (-n) | -0x8000000000000000
    return struct.unpack("<d", struct.pack("<q", bits))[0]


def _lit(x: float) -> str:
    """A float8 literal that parses back to exactly `x`."""
    if math.isinf(x):
        return "'Infinity'::float8" if x > 0 else "'-Infinity'::float8"
    return f"'{x!r}'::float8"


@dataclass(frozen=True)
class Slot:
    number: int
    kind: str
    column: Any = None  # the projection's Column
    grid: Grid | None = None

    @property
    def source(self) -> str:
        """The projection column counted (a datetime's epoch seconds)."""
        assert self.column is not None
        return self.column.epoch if self.column.family == "datetime" else self.column.name


def slots(columns: list, grids: dict[str, list[float]]) -> list[Slot]:
    """The store's slots of a projection's columns (`grids`: a number column's [origin, width])."""
    result = [Slot(0, TOTAL)]
    for n, column in enumerate(columns, start=1):
        family = column.family
        if family == "enum":
            result.append(Slot(n, ENUM, column))
        elif family == "multi_enum":
            result.append(Slot(n, MULTI, column))
        elif family == "boolean":
            result.append(Slot(n, BOOLEAN, column))
        elif family in ("float", "integer", "datetime") and column.name in grids:
            result.append(Slot(n, BINS, column, Grid(*grids[column.name])))
    return result


# ----------------------------------------------------------------------------------------------
# Building


def grid_for(low: float | None, high: float | None, *, integer: bool) -> tuple[float, float]:
    if low is None or high is None or not math.isfinite(low) or not math.isfinite(high):
        return 0.0, 1.0
    if integer:  # whole-number bins, centred on the values
        return math.floor(low) - 0.5, float(max(1, math.ceil((high - low + 1) / FINE_BINS)))
    if high <= low:
        return float(low), max(abs(low), 1.0) / FINE_BINS
    # Kept finite past the clamped bins (origin +/- CLAMP widths) for a range near the float's limits.
    return float(low), min((high / FINE_BINS - low / FINE_BINS), 1e290)


def _keys_sql(slot_list: list[Slot], rows: str, sign: int) -> str:
    """SELECT s, k, n: the count of each (slot, key) in the transition table `rows`, times `sign`. One small
    aggregate per slot: cheaper than unfolding every row into its keys first (a 100,000-row update: 0.4 s against
    1.8 s)."""
    parts = []
    for slot in slot_list:
        if slot.kind == TOTAL:
            parts.append(f"SELECT 0, 0::bigint, {sign} * count(*) FROM {rows}")
            continue
        if slot.kind == MULTI:
            parts.append(
                f"SELECT {slot.number}, u.k::bigint, {sign} * count(*) FROM {rows} r "
                f"CROSS JOIN LATERAL unnest(r.{slot.column.name}) u(k) GROUP BY 2"
            )
            continue
        if slot.kind == ENUM:
            key = f"r.{slot.column.name}::bigint"
        elif slot.kind == BOOLEAN:
            key = f"r.{slot.column.name}::integer::bigint"
        else:
            key = slot.grid.sql(f"r.{slot.source}")
        column = slot.source if slot.kind == BINS else slot.column.name
        parts.append(f"SELECT {slot.number}, {key}, {sign} * count(*) FROM {rows} r WHERE r.{column} IS NOT NULL GROUP BY 2")
    return " UNION ALL ".join(parts)


def create_sql(workspace_id: int, projection_table: str, slot_list: list[Slot]) -> list[str]:
    """The statements creating the (empty) store, its function and its triggers on the projection table."""
    store, function = store_name(workspace_id), function_name(workspace_id)

    def insert(body: str, rows: str) -> str:  # nothing for a statement that wrote no row or changed no counted column
        return (f"INSERT INTO {store} (s, k, n) SELECT s, k, sum(n) FROM ({body}) d(s, k, n) GROUP BY s, k HAVING sum(n) <> 0;"
                # the version: one more for every statement that wrote a row (see `version`)
                f"\n    INSERT INTO {store} (s, k, n) SELECT {VERSION_SLOT}, 0, 1 WHERE EXISTS (SELECT 1 FROM {rows});")

    delta, horizon = delta_name(workspace_id), horizon_name(workspace_id)

    def log(*tables: str) -> str:
        """The change log's rows of this statement (see `explorer.cache`), or one overflow row for a large one;
        then, by one writer at a time, at most once a LOG_PRUNE_SECONDS (LOG_PRUNE_BULK_SECONDS after a bulk
        statement), what every snapshot taken before the previous pruning saw is deleted."""
        rows = "\n      ".join(
            f"INSERT INTO {delta} SELECT r.*, {1 if t == 'new_rows' else -1} FROM {t} r;" for t in tables)
        return f"""written := (SELECT count(*) FROM (SELECT 1 FROM {tables[0]} LIMIT {LOG_ROWS_MAX + 1}) x);
    IF written > {LOG_ROWS_MAX} THEN
      INSERT INTO {delta} (item_id, sign) VALUES (0, 0);
    ELSE
      {rows}
    END IF;
    IF (SELECT at FROM {horizon}) < now() - (CASE WHEN written > {LOG_BULK_ROWS}
         THEN interval '{int(LOG_PRUNE_BULK_SECONDS)} seconds' ELSE interval '{int(LOG_PRUNE_SECONDS)} seconds' END)
       AND pg_try_advisory_xact_lock(hashtext('msx-log:{int(workspace_id)}')) THEN
      DELETE FROM {delta} WHERE pg_visible_in_snapshot(xid, (SELECT next FROM {horizon}));
      UPDATE {horizon} SET deleted = next, next = pg_current_snapshot(), at = now();
    END IF;"""

    news, olds = _keys_sql(slot_list, "new_rows", 1), _keys_sql(slot_list, "old_rows", -1)
    return [
        f"CREATE TABLE {store} (s smallint NOT NULL, k bigint NOT NULL, n bigint NOT NULL)",
        # The projection's columns, the row's sign and the writing transaction (its top-level id).
        f"CREATE TABLE {delta} (LIKE {projection_table}, sign smallint NOT NULL, "
        "xid xid8 NOT NULL DEFAULT pg_current_xact_id())",
        f"CREATE INDEX {delta}_xid ON {delta} (xid)",
        f"CREATE TABLE {horizon} (deleted pg_snapshot NOT NULL, next pg_snapshot NOT NULL, at timestamptz NOT NULL)",
        # Nothing pruned yet: `deleted` sees no transaction at all.
        f"INSERT INTO {horizon} VALUES ('3:3:', pg_current_snapshot(), now())",
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  written bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    {insert(news, "new_rows")}
    {log("new_rows")}
  ELSIF TG_OP = 'DELETE' THEN
    {insert(olds, "old_rows")}
    {log("old_rows")}
  ELSE
    {insert(news + " UNION ALL " + olds, "new_rows")}
    {log("new_rows", "old_rows")}
  END IF;
  RETURN NULL;
END $fn$""",
        f"CREATE TRIGGER msx_counts_insert AFTER INSERT ON {projection_table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER msx_counts_update AFTER UPDATE ON {projection_table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER msx_counts_delete AFTER DELETE ON {projection_table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def drop_sql(workspace_id: int) -> list[str]:
    """Drop the store and its function (run after, or with, the projection table that carries the triggers)."""
    return [f"DROP TABLE IF EXISTS {store_name(workspace_id)}, {delta_name(workspace_id)}, {horizon_name(workspace_id)}",
            f"DROP FUNCTION IF EXISTS {function_name(workspace_id)}() CASCADE"]


# ----------------------------------------------------------------------------------------------
# Reading


@dataclass
class Counts:
    """The store read in one snapshot: (slot, key) -> count, and the slots."""

    workspace_id: int
    slots: list[Slot]
    tally: dict[tuple[int, int], int]
    rows: int  # delta rows read
    _by_slot: dict[int, dict[int, int]] | None = None

    @property
    def total(self) -> int:
        return self.tally.get((0, 0), 0)

    def slot(self, column_name: str) -> Slot | None:
        return next((s for s in self.slots if s.column is not None and s.column.name == column_name), None)

    def keys(self, slot: Slot) -> dict[int, int]:
        if self._by_slot is None:
            self._by_slot = {}
            for (s, k), n in self.tally.items():
                self._by_slot.setdefault(s, {})[k] = n
        return self._by_slot.get(slot.number, {})


def registry(workspace_id: int, fingerprint: str) -> dict | None:
    """The grid of the workspace's count store when its projection is ready, maintained and of `fingerprint`
    (PostgreSQL), else None."""
    if connection.vendor != "postgresql":
        return None
    row = (
        Projection.objects.filter(workspace_id=workspace_id, ready=True, maintained=True, fingerprint=fingerprint)
        .values_list("count_grid", flat=True)
        .first()
    )
    return row if isinstance(row, dict) else None


def read(workspace_id: int, columns: list, fingerprint: str) -> Counts | None:
    """The counts of the workspace in the reader's snapshot, or None when the store is not in use (`columns`
    and `fingerprint`: the projection's of the current schema)."""
    grid = registry(workspace_id, fingerprint)
    if grid is None:
        return None
    with read_connection().cursor() as cursor:
        cursor.execute(f"SELECT s, k, sum(n)::bigint, count(*) FROM {store_name(workspace_id)} GROUP BY s, k")
        fetched = cursor.fetchall()
    tally = {(s, k): n for s, k, n, _ in fetched if n}
    rows = sum(r for *_, r in fetched)
    counts = Counts(workspace_id, slots(columns, grid), tally, rows)
    if rows > max(COMPACT_ROWS, 2 * len(fetched)):
        # After the reader's transaction (explorer.cache pins one: a compaction inside it would meet the deletes of
        # a concurrent one as serialization failures), on the primary, in its own.
        transaction.on_commit(lambda: compact(workspace_id=workspace_id), using=read_connection().alias)
    return counts


def version(workspace_id: int) -> int | None:
    """The version of the workspace's projection in the reader's snapshot: how many committed statements wrote it
    since it was built (every statement that writes a row adds one, in its own transaction). Snapshots only grow,
    so two snapshots with the same version see the same projection, and anything computed from the projection
    alone can be kept under it (`explorer.cache`). Compaction keeps the sum. None without a store."""
    reader = read_connection()
    try:  # in a savepoint: the caller's transaction (explorer.cache pins one) goes on after a failure
        with transaction.atomic(using=reader.alias), reader.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(sum(n), 0) FROM {store_name(workspace_id)} WHERE s = {VERSION_SLOT}")
            return int(cursor.fetchone()[0])
    except DatabaseError:  # no store (dropped by a build meanwhile)
        return None


def compact(*, workspace_id: int) -> bool:
    """Fold the store's deltas into one row per key (the same sums in every later snapshot); False when another
    compaction holds the lock or there is no store. On the primary, in its own transaction."""
    if connection.vendor != "postgresql":
        return False
    store = store_name(workspace_id)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [f"msx-counts:{int(workspace_id)}"])
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [store])
            if not cursor.fetchone()[0]:
                return False
            cursor.execute(
                f"WITH d AS (DELETE FROM {store} RETURNING s, k, n) "
                f"INSERT INTO {store} (s, k, n) SELECT s, k, sum(n) FROM d GROUP BY s, k HAVING sum(n) <> 0"
            )
    except DatabaseError:  # dropped by a build meanwhile: nothing to compact
        log.warning("count store of workspace %s: compaction failed", workspace_id, exc_info=True)
        return False
    return True


def is_unfiltered(query: fl.Query) -> bool:
    """Whether the store can answer the query: no condition, the whole workspace."""
    return not query.all and not query.any and query.scope.kind == "workspace"


def _bucket(x: float, low: float, width: float, last: int) -> int:
    """`query.sql.bucket_sql` of x, with the same float8 operations."""
    return min(math.floor((x - low) / width), last)


@dataclass
class Histogram:
    slot: Slot
    low: float
    width: float
    count: int
    rows: dict[int, int]
    edges: list[tuple[float | None, float | None, int]]  # bins cut by a bucket boundary: (lowest, highest, key)


def histogram(counts: Counts, slot: Slot, low: float, width: float, count: int) -> Histogram | None:
    """A display histogram's buckets from the fine bins, and the bins it must count on the projection; None when
    the field has too many bins to read from the store."""
    keys = counts.keys(slot)
    if len(keys) > MAX_BINS:
        return None
    low, width, last = float(low), float(width), count - 1
    rows: dict[int, int] = {}
    edges = []
    origin, step = slot.grid.origin, slot.grid.width
    floor = math.floor
    scale = (abs(origin) + abs(low) + abs(low + count * width) + width + step) * 1e-9
    if not (math.isfinite(scale) and width > 0 and abs(origin) + CLAMP * step < 1e307):
        return None  # a range near the float's limits: counted on the projection, as before
    for f, n in keys.items():
        if -CLAMP < f < CLAMP:
            # Far from every bucket boundary the bin's nominal bounds (widened by far more than float error)
            # decide; near one, its exact lowest and highest doubles do.
            nominal = origin + f * step
            margin = scale + abs(nominal) * 1e-9
            a = floor((nominal - margin - low) / width)
            b = min(floor((nominal + step + margin - low) / width), last)
            if a == b:
                rows[a] = rows.get(a, 0) + n
                continue
            first, final = slot.grid.bounds(f)
            a, b = _bucket(first, low, width, last), _bucket(final, low, width, last)
            if a == b:
                rows[a] = rows.get(a, 0) + n
                continue
            edges.append((first, final, f))
        else:
            edges.append((*slot.grid.bounds(f), f))
    return Histogram(slot, low, width, count, rows, edges)


def _text_range(column: str, first: float | None, final: float | None) -> list[str]:
    """A range of a stored datetime's text holding every value whose epoch seconds lie in [first, final]: the
    texts of a second all start with its ``YYYY-MM-DDTHH:MM:SS`` (a superset; the epoch test stays exact)."""
    tests = []
    for bound, op, shift in ((first, ">=", 0), (final, "<", 1)):
        if bound is None:
            continue
        try:
            text = datetime.fromtimestamp(math.floor(bound) + shift, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        except (OverflowError, OSError, ValueError):  # beyond the calendar's years: no bound on that side
            continue
        if len(text) == 19:
            tests.append(f"{column} {op} '{text}'")
    return tests


def count_edges(table: str, histograms: list[Histogram]) -> None:
    """Count the cut bins of every histogram on the projection `table` (one statement) into their rows."""
    parts, params = [], []
    for n, h in enumerate(histograms):
        for first, final, f in h.edges:
            col = f"p.{h.slot.source}"
            tests = [f"{col} IS NOT NULL"]
            if first is not None:
                tests.append(f"{col} >= {_lit(first)}")
            if final is not None:
                tests.append(f"{col} <= {_lit(final)}")
            tests.append(f"{h.slot.grid.sql(col)} = {f}")
            if h.slot.column.family == "datetime":  # the text's B-tree (its INCLUDE has the epoch) finds the rows
                tests += _text_range(f"p.{h.slot.column.name}", first, final)
            parts.append(
                f"SELECT {n} AS h, {bucket_sql(col)} AS b, count(*) AS c FROM {table} p "
                f"WHERE {' AND '.join(tests)} GROUP BY 2"
            )
            params += [h.low, h.width, h.count - 1]
    if not parts:
        return
    with read_connection().cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for n, b, c in cursor.fetchall():
            rows = histograms[n].rows
            rows[b] = rows.get(b, 0) + c

"""Planner statistics and visibility of tables after bulk writes (PostgreSQL; a no-op elsewhere).

An import changes a large part of ``items_item`` in minutes. Until the table is analysed again the
planner works from estimates taken before (or from none: a table never analysed has ``reltuples``
-1), and on the reference server it picked a scan of the whole workspace over the ``uid`` index for
a 10,000-uid lookup: 550 ms per batch instead of 75. Autovacuum may be off, as on the shared server,
or behind a write burst, so the bulk paths look after the tables they churn:

- `analyze_if_stale` before a bulk pass: ANALYZE when more than `STALE_FRACTION` of the rows changed
  since the last one (one catalogue read when fresh);
- `vacuum_analyze` after it (the ``maintain_items`` task): VACUUM sets the visibility map again, which
  the explorer's index-only counts need, and clears the dead row versions the writes left.
"""

from __future__ import annotations

from django.db import OperationalError, connection, models, transaction

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_not_available (a lock_timeout ran out)

STALE_FRACTION = 0.1
# A small table counts as this many rows, so a few writes to it do not trigger an ANALYZE each.
MIN_ROWS = 1000


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def is_stale(reltuples: float, modified: int, *, fraction: float = STALE_FRACTION) -> bool:
    """Statistics are stale when missing (``reltuples`` -1) or when more than `fraction` of the rows (at
    least of `MIN_ROWS`) changed since they were taken."""
    return reltuples < 0 or modified > max(reltuples, MIN_ROWS) * fraction


def stale_tables(*tables: type[models.Model], fraction: float = STALE_FRACTION) -> list[str]:
    """The tables whose statistics are missing or older than `fraction` of their rows' changes."""
    if connection.vendor != "postgresql":
        return []
    names = [_table(model) for model in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples, coalesce(s.n_mod_since_analyze, 0) FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relkind = 'r' AND c.relname = ANY(%s) AND c.relnamespace = to_regnamespace(current_schema())",
            [names],
        )
        rows = cursor.fetchall()
    return [name for name, reltuples, modified in rows if is_stale(reltuples, modified, fraction=fraction)]


# How long `analyze_if_stale` waits for its lock before leaving the statistics as they are.
ANALYZE_LOCK_TIMEOUT_MS = 200


def analyze_if_stale(*tables: type[models.Model], fraction: float = STALE_FRACTION) -> list[str]:
    """ANALYZE each of the models' tables whose statistics are stale; returns the tables analysed. A table whose
    lock is not free within ANALYZE_LOCK_TIMEOUT_MS (a build of the explorer's indexes holds it for minutes:
    CREATE INDEX CONCURRENTLY waits for this very statement's transaction, a deadlock PostgreSQL ends by failing
    one of the two) keeps its statistics until the next call: they are a help, never worth failing an import for."""
    analysed = []
    for name in stale_tables(*tables, fraction=fraction):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(ANALYZE_LOCK_TIMEOUT_MS)}")
                cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            continue
        analysed.append(name)
    return analysed


def vacuum_analyze(*tables: type[models.Model]) -> list[str]:
    """VACUUM (ANALYZE) the models' tables; only ANALYZE inside a transaction, where VACUUM cannot run."""
    if connection.vendor != "postgresql":
        return []
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    names = [_table(model) for model in tables]
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"{command} {connection.ops.quote_name(name)}")
    return names

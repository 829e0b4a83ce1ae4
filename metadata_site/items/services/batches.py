"""Change-set records of one row per batch (`ChangeSetBatch`, PostgreSQL): which change sets use them, the count
of items a batch adds to its change set, and the per-item view of a change set's records (first previous, last
hash) that undo and the change-set page read, whichever kind of record wrote it.

A change set is recorded one way from its first write on: by batches when its first write is a set-based patch
(`item_metadata_patch`), and then every later write of it too (`write_rows` sees its batches); by one
`ChangeSetEntry` per item otherwise, as before (an import begun before batches existed goes on with entries).
"""

import json
import threading
from dataclasses import dataclass, field

from django.db import connection

from ..models import ChangeSet, ChangeSetBatch, ChangeSetEntry, Item

# The prefix of a hash PostgreSQL computes, `jsonb_hash_extended` of the jsonb value (see `patch.py`).
PG_HASH_PREFIX = "pgh:"


def batch_table() -> str:
    return connection.ops.quote_name(ChangeSetBatch._meta.db_table)


def entry_table() -> str:
    return connection.ops.quote_name(ChangeSetEntry._meta.db_table)


def uses_batches(change_set_id: int) -> bool:
    """PostgreSQL: whether `change_set_id` is recorded by batches (see the module's docstring)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {batch_table()} WHERE change_set_id = %s), "
            f"EXISTS (SELECT 1 FROM {entry_table()} WHERE change_set_id = %s)",
            (change_set_id, change_set_id),
        )
        batches, entries = cursor.fetchone()
    return bool(batches) or not entries


def has_batches(change_set_id: int) -> bool:
    """PostgreSQL: whether `change_set_id` already has batch records (then every write of it adds one)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {batch_table()} WHERE change_set_id = %s)", (change_set_id,))
        return bool(cursor.fetchone()[0])


@dataclass
class _Recorded:
    """The items already recorded by the batches of one change set, as a bitmap over item ids, and which batches
    that covers (their count and last id: a rolled-back batch, or another process's, makes it stale: it is then
    read again)."""

    change_set_id: int
    batches: tuple[int, int | None] = (0, None)
    bits: bytearray = field(default_factory=bytearray)

    def add(self, ids: list[int]) -> int:
        bits = self.bits
        added = 0
        for pk in ids:
            byte, bit = pk >> 3, 1 << (pk & 7)
            if byte >= len(bits):
                bits.extend(bytes(byte - len(bits) + 1 + (1 << 16)))
            if not bits[byte] & bit:
                bits[byte] |= bit
                added += 1
        return added


_local = threading.local()  # `recorded`: the `_Recorded` of this thread's last change set


def batch_added_count(change_set_id: int, batch_id: int, ids: list[int]) -> int:
    """How many of `ids` (the items batch `batch_id` just recorded) no earlier batch of the change set holds: what
    the batch adds to the change set's `item_count`. Kept in memory across the batches of one change set (an import)
    and read again from the database when it does not cover exactly the batches before this one."""
    recorded: _Recorded | None = getattr(_local, "recorded", None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), max(id) FROM {batch_table()} WHERE change_set_id = %s AND id < %s",
            (change_set_id, batch_id),
        )
        before = cursor.fetchone()
        if recorded is None or recorded.change_set_id != change_set_id or recorded.batches != before:
            recorded = _local.recorded = _Recorded(change_set_id)
            if before[0]:
                cursor.execute(
                    f"SELECT unnest(item_ids) FROM {batch_table()} WHERE change_set_id = %s AND id < %s",
                    (change_set_id, batch_id),
                )
                recorded.add([pk for (pk,) in cursor.fetchall()])
    added = recorded.add(ids)
    recorded.batches = (before[0] + 1, batch_id)
    return added


def _per_item_sql(limit_each: str = "") -> str:
    """One row per item of change set %s (twice: entries, then batches): its first previous metadata and its
    last hash. `limit_each` slices each batch's arrays (they are in item id order)."""
    return f"""
        SELECT u.item_id, (array_agg(u.previous ORDER BY u.seq))[1] AS previous,
               (array_agg(u.new_hash ORDER BY u.seq DESC))[1] AS new_hash
        FROM (
            SELECT 0::bigint AS seq, e.item_id, e.previous, e.new_hash::text AS new_hash
            FROM {entry_table()} e WHERE e.change_set_id = %s
            UNION ALL
            SELECT b.id, x.item_id, x.previous, '{PG_HASH_PREFIX}' || x.h::text
            FROM {batch_table()} b,
                 unnest(b.item_ids{limit_each}, b.previous{limit_each}, b.new_hashes{limit_each})
                     AS x(item_id, previous, h)
            WHERE b.change_set_id = %s
        ) u GROUP BY u.item_id
    """


class EntryPages:
    """The per-item records of a change set in pages by item id: ``(item_id, previous, new_hash)``. Entries are
    read as they are; a change set recorded by batches is first gathered into a temporary table (one row per item,
    dropped at the end of the transaction, which the caller holds)."""

    def __init__(self, change_set: ChangeSet):
        self.change_set = change_set
        self.gathered = connection.vendor == "postgresql" and change_set.batches.exists()
        if self.gathered:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS undo_entries")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE undo_entries ON COMMIT DROP AS {_per_item_sql()}",
                    (change_set.pk, change_set.pk),
                )
                cursor.execute("ALTER TABLE undo_entries ADD PRIMARY KEY (item_id)")

    def page(self, after: int, size: int) -> list[tuple[int, object, str]]:
        if not self.gathered:
            return list(
                self.change_set.entries.filter(item_id__gt=after)
                .order_by("item_id")
                .values_list("item_id", "previous", "new_hash")[:size]
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT item_id, previous::text, new_hash FROM undo_entries WHERE item_id > %s ORDER BY item_id LIMIT %s",
                (after, size),
            )
            return [(pk, json.loads(text), digest) for pk, text, digest in cursor.fetchall()]


def change_set_entries(change_set: ChangeSet, limit: int | None = None) -> list[ChangeSetEntry]:
    """The change set's per-item records by item id (the first `limit`), as `ChangeSetEntry` objects with their
    item loaded (not saved: a change set recorded by batches has no entry rows); items deleted since are left out."""
    if not (connection.vendor == "postgresql" and change_set.batches.exists()):
        qs = change_set.entries.select_related("item").order_by("item_id")
        return list(qs[:limit] if limit is not None else qs)
    slice_ = f"[1:{int(limit)}]" if limit is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, previous::text, new_hash FROM ({_per_item_sql(slice_)}) p ORDER BY item_id"
            + (f" LIMIT {int(limit)}" if limit is not None else ""),
            (change_set.pk, change_set.pk),
        )
        rows = cursor.fetchall()
    items = Item.objects.in_bulk([pk for pk, _, _ in rows])
    return [
        ChangeSetEntry(workspace_id=change_set.workspace_id, change_set=change_set, item=items[pk],
                       previous=json.loads(text), new_hash=digest)
        for pk, text, digest in rows if pk in items
    ]


def newest_batch_change_sets(workspace_id: int, after_change_set_id: int, item_ids: list[int]) -> dict[int, int]:
    """PostgreSQL: item id -> the newest change set after `after_change_set_id` whose batches wrote it."""
    if connection.vendor != "postgresql" or not item_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x, max(b.change_set_id) FROM {batch_table()} b, unnest(b.item_ids) x "
            "WHERE b.workspace_id = %s AND b.change_set_id > %s AND b.item_ids && %s::bigint[] "
            "AND x = ANY(%s::bigint[]) GROUP BY x",
            (workspace_id, after_change_set_id, item_ids, item_ids),
        )
        return dict(cursor.fetchall())

"""Embedding values in item metadata writes: split out of the JSON document and stored as float32 bytes.

A value of an embedding field (`schemas.fields.FieldType.EMBEDDING`) arrives in metadata like any other key (a
metadata row, the API, the Python client, a data import), is validated with the rest (`validate_metadata`:
dimension, finite numbers), then taken out of the document here, before it is written: the document and its
JSON indexes never hold vectors. The vectors go to `media.Embedding` (one row an item and field), in the
writer's transaction. Write modes keep their meaning: merge sets the given vectors and removes those given as
null; overwrite also removes the item's vectors of fields it does not give. Each vector a write changes is
recorded in the write's change set (`vectors_record`: `ChangeSetVector`, the previous bytes and a hash of the new
ones), so an undo restores it exactly, as it restores the JSON document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from metadata_site.schemas.fields import Schema

from .signals import embeddings_written

# (item id, field) -> float32 bytes to store, or None to remove
VectorOps = dict[tuple[int, str], bytes | None]


def pack(vector: Iterable[float]) -> bytes:
    """A validated vector as little-endian float32 bytes."""
    import numpy as np

    return np.asarray(list(vector), dtype="<f4").tobytes()


def split_vectors(schema: Schema, metadata: dict) -> tuple[dict, dict[str, Any]]:
    """(`metadata` without its embedding fields' keys, {field: vector or None}). `metadata` is not changed."""
    names = schema.embeddings
    if not names or not any(key in names for key in metadata):
        return metadata, {}
    rest = {k: v for k, v in metadata.items() if k not in names}
    return rest, {k: v for k, v in metadata.items() if k in names}


def stored_vectors(item_ids: list[int], fields: Iterable[str]) -> dict[tuple[int, str], bytes]:
    """The stored vectors of these items and fields."""
    from metadata_site.media.models import Embedding

    found: dict[tuple[int, str], bytes] = {}
    for start in range(0, len(item_ids), 5000):
        for pk, name, vector in Embedding.objects.filter(
            item_id__in=item_ids[start:start + 5000], field__in=list(fields)
        ).values_list("item_id", "field", "vector"):
            found[(pk, name)] = bytes(vector)
    return found


def vector_ops(
    pk: int, given: dict[str, Any], *, overwrite: bool, fields: Iterable[str], stored: dict[tuple[int, str], bytes]
) -> VectorOps:
    """What writing `given` to item `pk` changes: new or different vectors, and the ones to remove (null, or with
    `overwrite` every stored one the write does not give)."""
    ops: VectorOps = {}
    for name in fields:
        key = (pk, name)
        if name in given and given[name] is not None:
            data = pack(given[name])
            if stored.get(key) != data:
                ops[key] = data
        elif (name in given or overwrite) and key in stored:
            ops[key] = None
    return ops


def vectors_apply(*, workspace, ops: VectorOps) -> None:
    """Store and remove vectors (the caller holds the transaction), then tell the media app which fields
    changed (it marks their nearest-neighbour indexes for an update)."""
    if not ops:
        return
    from metadata_site.media.models import Embedding

    removed = [key for key, data in ops.items() if data is None]
    by_field: dict[str, list[int]] = {}
    for pk, name in removed:
        by_field.setdefault(name, []).append(pk)
    for name, pks in by_field.items():
        for start in range(0, len(pks), 5000):
            Embedding.objects.filter(workspace=workspace, field=name, item_id__in=pks[start:start + 5000]).delete()
    rows = [
        Embedding(workspace=workspace, item_id=pk, field=name, vector=data)
        for (pk, name), data in ops.items() if data is not None
    ]
    if rows:
        Embedding.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["item", "field"],
            update_fields=["vector", "updated_at"],
        )
    counts: dict[str, int] = {}
    for _, name in ops:
        counts[name] = counts.get(name, 0) + 1
    workspace_id = workspace.pk
    transaction.on_commit(lambda: embeddings_written.send(sender=None, workspace_id=workspace_id, counts=counts))


def vector_hash(data: bytes | None) -> str:
    """What a change set keeps of the vector a write stored: its sha256, "" for no vector (removed)."""
    return "" if data is None else hashlib.sha256(data).hexdigest()


def vectors_record(*, workspace, change_set, ops: VectorOps, stored: dict[tuple[int, str], bytes]) -> None:
    """Record in `change_set` the vectors `ops` changed: each (item, field)'s previous bytes (`stored`, read before
    the write; None when it had none) and the hash of what was stored. A second write of the same vector within
    one change set (an import in batches) keeps the first previous bytes and moves the hash forward. Items the
    change set did not hold yet (a write that changed vectors only) count in its `item_count`. The caller holds
    the transaction and calls this after writing the JSON rows (`write_rows`)."""
    from .models import ChangeSet, ChangeSetEntry, ChangeSetVector

    if not ops:
        return
    pks = sorted({pk for pk, _ in ops})
    known: set[int] = set()
    for start in range(0, len(pks), 5000):
        chunk = pks[start:start + 5000]
        known.update(ChangeSetEntry.objects.filter(change_set=change_set, item_id__in=chunk)
                     .values_list("item_id", flat=True))
        known.update(ChangeSetVector.objects.filter(change_set=change_set, item_id__in=chunk)
                     .values_list("item_id", flat=True))
        if connection.vendor == "postgresql":
            # A change set recorded by batches (`ChangeSetBatch`, PostgreSQL) holds its items there.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT DISTINCT x FROM items_changesetbatch b, unnest(b.item_ids) x "
                    "WHERE b.change_set_id = %s AND x = ANY(%s::bigint[])",
                    (change_set.pk, chunk),
                )
                known.update(pk for (pk,) in cursor.fetchall())
    ChangeSetVector.objects.bulk_create(
        [ChangeSetVector(workspace=workspace, change_set=change_set, item_id=pk, field=name,
                         previous=stored.get((pk, name)), new_hash=vector_hash(data))
         for (pk, name), data in ops.items()],
        batch_size=1000, update_conflicts=True, unique_fields=["change_set", "item", "field"],
        update_fields=["new_hash"],
    )
    added = len(set(pks) - known)
    if added:
        from django.db.models import F

        ChangeSet.objects.filter(pk=change_set.pk).update(item_count=F("item_count") + added)
        change_set.refresh_from_db(fields=["item_count"])


def vectors_deleting(*, workspace_id: int, items) -> None:
    """The vectors of `items` (a queryset about to be deleted, which deletes its vectors with it) count as written
    against their fields' indexes after commit, as `vectors_apply` counts the vectors it changes (an import's undo
    deleting the items it created)."""
    from django.db.models import Count

    from metadata_site.media.models import Embedding

    counts = dict(
        Embedding.objects.filter(workspace_id=workspace_id, item__in=items.values("pk"))
        .values("field").annotate(n=Count("pk")).values_list("field", "n")
    )
    if counts:
        transaction.on_commit(lambda: embeddings_written.send(sender=None, workspace_id=workspace_id, counts=counts))

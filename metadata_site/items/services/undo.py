"""Undo of a change set: every item it touched put back to its previous metadata, exactly, unless changed since:
its JSON document (`ChangeSetEntry`) and its embedding vectors (`ChangeSetVector`)."""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from metadata_site.lib.errors import MessageError

from ..embeddings import VectorOps, stored_vectors, vector_hash, vectors_apply, vectors_record
from ..models import ChangeSet, ChangeSetEntry, ChangeSetVector, Item
from ..signals import change_set_undoing
from .batches import EntryPages, newest_batch_change_sets
from .patch import PG_HASH_PREFIX, entry_hash_matches, pg_hashes_of
from .rows import canonical_dumps, locked_rows, write_rows

CHANGE_SET_ALREADY_UNDONE = "This change set was already undone."
CHANGE_SET_NOTHING_TO_UNDO = "This change set changed no items."

UNDO_BATCH_SIZE = 5000
UNDO_VECTOR_BATCH = 1000  # vector entries read at once (2 KB a 512-d vector, twice: previous and stored)


class ChangeSetError(MessageError):
    """A change set cannot be undone or redone; `message` says why."""


@dataclass
class UndoResult:
    """`restored`: items put back to their previous metadata by this undo; `already`: items an earlier, partial
    undo had put back; `conflicts`: ``{"item", "uid", "newer_change_set"}`` of items changed again since (they
    hold a newer value), left alone; `undo_change_set`: the change set recording the undo itself (None if
    nothing was restored); `undone`: whether the change set is now marked undone, which it is only when no
    item was left alone (else its Undo stays available: the skipped items become undoable once the newer
    change is undone)."""

    change_set: ChangeSet
    undo_change_set: ChangeSet | None
    restored: int
    conflicts: list[dict]
    already: int = 0

    @property
    def undone(self) -> bool:
        return self.change_set.undone_at is not None


def change_set_undo(*, change_set: ChangeSet, user) -> UndoResult:
    """Put every item `change_set` touched back to its previous metadata, exactly.

    An item whose metadata changed again since (it no longer hashes to what the change set wrote) is reported
    as a conflict, with the newest change set that wrote it, and left alone. The undo is itself recorded as a
    change set (so it can be undone too). `change_set` is marked undone only when no item was left alone;
    otherwise it can be undone again later, and items an earlier undo already restored count as `already`.
    """
    with transaction.atomic():
        locked = ChangeSet.objects.select_for_update().get(pk=change_set.pk)
        if locked.undone_at is not None:
            raise ChangeSetError(CHANGE_SET_ALREADY_UNDONE)
        # A rename's field and saved filters (schemas connects the receiver); the loop below, the values.
        change_set_undoing.send(sender=ChangeSet, change_set=locked, user=user)
        workspace = locked.workspace
        undo: ChangeSet | None = None

        def undo_change_set() -> ChangeSet:
            nonlocal undo
            if undo is None:
                undo = ChangeSet.objects.create(
                    workspace=workspace,
                    user=user,
                    operation="undo",
                    description=f"Undo of change set {locked.pk}: {locked.description or locked.operation}"[:500],
                    source="ui",
                    undo_of=locked,
                )
            return undo

        restored: set[int] = set()
        already: set[int] = set()
        conflicts: list[dict] = []
        last_item_id = 0
        # Per item, whether recorded by entries or by batches (`batches.EntryPages`).
        pages = EntryPages(locked)
        while True:
            # Pages by item id, each a fresh query: the undo inserts into the entries table while it reads it.
            batch = pages.page(last_item_id, UNDO_BATCH_SIZE)
            if not batch:
                break
            last_item_id = batch[-1][0]
            current = locked_rows(workspace, [item_id for item_id, _, _ in batch])
            pg_hashes = (
                pg_hashes_of([item_id for item_id, _, h in batch if h.startswith(PG_HASH_PREFIX)])
                if connection.vendor == "postgresql" else {}
            )
            to_write = []
            for item_id, previous, new_hash in batch:
                if item_id not in current:  # deleted since (a batch record keeps its id; an entry went with it)
                    continue
                uid, _kind, now_md, text = current[item_id]
                if not entry_hash_matches(new_hash, now_md, text, pg_hashes.get(item_id)):
                    if canonical_dumps(now_md) == canonical_dumps(previous):
                        already.add(item_id)
                    else:
                        conflicts.append({"item": item_id, "uid": str(uid)})
                elif canonical_dumps(now_md) != canonical_dumps(previous):
                    to_write.append((item_id, previous, now_md))
                else:
                    restored.add(item_id)
            if to_write:
                write_rows(workspace=workspace, change_set=undo_change_set(), rows=to_write)
                restored.update(item_id for item_id, _, _ in to_write)
        vector_conflicts = _undo_vectors(locked, workspace, undo_change_set, restored, already)
        listed = {c["item"] for c in conflicts}
        conflicts += [c for c in vector_conflicts if c["item"] not in listed]
        _name_newer_change_sets(locked, conflicts)
        if not conflicts:
            locked.undone_at = timezone.now()
            locked.undone_by = user
            locked.save(update_fields=["undone_at", "undone_by"])
    change_set.undone_at, change_set.undone_by = locked.undone_at, locked.undone_by
    conflicted = {c["item"] for c in conflicts}
    return UndoResult(
        change_set=locked, undo_change_set=undo, restored=len(restored), conflicts=conflicts,
        already=len(already - restored - conflicted),
    )


def _undo_vectors(locked: ChangeSet, workspace, undo_change_set, restored: set[int], already: set[int]) -> list[dict]:
    """Put back every vector `locked` changed (its `ChangeSetVector`s) whose stored bytes are still what it wrote:
    the previous bytes stored again, or the vector removed when there was none, recorded in the undo's change
    set (so the undo can be undone) and counted against the field's index (`vectors_apply`). A vector changed
    since is left alone: its item is returned as a conflict. Adds the items put back to `restored`, those an
    earlier undo had put back to `already`."""
    conflicted: set[int] = set()
    after = Q()
    while True:
        # Keyset pages in the order of the (change set, item, field) unique index; the undo's own entries go to
        # another change set.
        batch = list(
            ChangeSetVector.objects.filter(after, change_set=locked).order_by("item_id", "field")
            .values_list("item_id", "field", "previous", "new_hash")[:UNDO_VECTOR_BATCH]
        )
        if not batch:
            break
        last_item, last_field = batch[-1][0], batch[-1][1]
        after = Q(item_id__gt=last_item) | Q(item_id=last_item, field__gt=last_field)
        stored = stored_vectors(sorted({item_id for item_id, _, _, _ in batch}), {name for _, name, _, _ in batch})
        ops: VectorOps = {}
        for item_id, name, previous, new_hash in batch:
            key = (item_id, name)
            now = stored.get(key)
            before = None if previous is None else bytes(previous)
            if vector_hash(now) == new_hash:
                if now != before:
                    ops[key] = before
                restored.add(item_id)
            elif now == before:
                already.add(item_id)
            else:
                conflicted.add(item_id)
        if ops:
            vectors_apply(workspace=workspace, ops=ops)
            vectors_record(workspace=workspace, change_set=undo_change_set(), ops=ops, stored=stored)
    uids = dict(Item.objects.filter(pk__in=sorted(conflicted)).values_list("pk", "uid")) if conflicted else {}
    return [{"item": pk, "uid": str(uids[pk])} for pk in sorted(conflicted) if pk in uids]


UNDO_CONFLICTS_NAMED = 20


def _name_newer_change_sets(change_set: ChangeSet, conflicts: list[dict]) -> None:
    """Add to the first conflicts the newest change set that wrote each item (its document or a vector) after
    `change_set` (the reason it was left alone); two queries, bounded by UNDO_CONFLICTS_NAMED."""
    named = conflicts[:UNDO_CONFLICTS_NAMED]
    newer: dict[int, int] = {}
    for model in (ChangeSetEntry, ChangeSetVector):
        for item_id, newest in (
            model.objects.filter(
                workspace_id=change_set.workspace_id,
                item_id__in=[c["item"] for c in named],
                change_set_id__gt=change_set.pk,
            )
            .values("item_id")
            .annotate(newest=Max("change_set_id"))
            .values_list("item_id", "newest")
        ):
            newer[item_id] = max(newer.get(item_id, 0), newest)
    for item_id, newest in newest_batch_change_sets(
        change_set.workspace_id, change_set.pk, [c["item"] for c in named]
    ).items():
        newer[item_id] = max(newer.get(item_id, 0), newest)
    for conflict in named:
        conflict["newer_change_set"] = newer.get(conflict["item"])

"""Writes of item metadata: one service for one item or a million, with row-level results and change sets.

Every write reads the touched rows once (locked), validates and merges in Python, then writes all changed rows
in one set-based statement and records one change-set entry per item (its whole previous metadata object and
a hash of the new one), so the number of queries does not grow with the number of items.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from metadata_site.lib import fastjson, strictjson
from metadata_site.lib.errors import MessageError
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.validation import validate_metadata
from metadata_site.workspaces.models import Workspace

from ..embeddings import VectorOps, split_vectors, stored_vectors, vector_ops, vectors_apply, vectors_record
from ..models import ChangeSet, Item
from .rows import canonical_dumps, locked_rows, write_rows

MODE_MERGE = "merge"
MODE_OVERWRITE = "overwrite"
WRITE_MODES = (MODE_MERGE, MODE_OVERWRITE)

WRITE_MODE_UNKNOWN = "Unknown write mode {mode!r}: use merge or overwrite."
ITEM_NOT_FOUND = "No item with this id in this workspace."
OPERATION_RENAME = "rename"  # the change set of a field rename: its undo also renames the field back

STATUS_CHANGED = "changed"
STATUS_UNCHANGED = "unchanged"
STATUS_FAILED = "failed"


class MetadataWriteError(MessageError):
    """A metadata write was refused; `message` says why."""


@dataclass
class WriteResult:
    """Per input row, in input order: ``{"item": pk | None, "uid": str | None, "status": "changed" |
    "unchanged" | "failed", "errors": [{"key", "msg", "expected", "value"}]}``. `change_set` is the change
    set the changed rows were recorded in (None when nothing changed and none was passed in)."""

    change_set: ChangeSet | None
    rows: list[dict] = field(default_factory=list)
    skipped: int = 0  # bulk edit: items left out up front because they already held the value (no row each)

    def _count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)

    @property
    def changed(self) -> int:
        return self._count(STATUS_CHANGED)

    @property
    def unchanged(self) -> int:
        return self._count(STATUS_UNCHANGED) + self.skipped

    @property
    def failed(self) -> int:
        return self._count(STATUS_FAILED)

    @property
    def failed_rows(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == STATUS_FAILED]


def _size_errors(metadata: dict) -> list[dict]:
    """An item's metadata is at most 1 MB, as custom data (`lib/strictjson.py`)."""
    try:
        strictjson.check_size(metadata, fastjson.dumps(metadata))
    except strictjson.StrictJSONError as exc:
        return [{"key": "", "msg": exc.message, "expected": "at most 1 MB of JSON", "value": None}]
    return []


def _apply(mode: str, old: Any, normalised: dict) -> dict:
    if mode == MODE_OVERWRITE:
        return {k: v for k, v in normalised.items() if v is not None}
    merged = dict(old) if isinstance(old, dict) else {}
    for key, value in normalised.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def item_metadata_write(
    *,
    workspace: Workspace,
    user,
    updates: Mapping[int, dict],
    mode: str,
    source: str = "ui",
    change_set: ChangeSet | None = None,
    description: str = "",
    operation: str = "",
    validated: bool = False,
) -> WriteResult:
    """Write metadata for many items (item pk → metadata object) in one transaction.

    `mode` "overwrite" replaces each item's metadata; "merge" sets the given keys, keeps the others and
    removes keys given as null (JSON Merge Patch at the top level). Values are validated against the current
    schema first; a row with any bad value is not written at all ("failed", with its errors), the other rows
    are. Changed rows are recorded in `change_set` (a new one, named by `operation`/`description`/`source`,
    unless one is passed in, e.g. by an import that writes in batches). `validated=True` says each object already
    is what `validate_metadata` returns for this schema and mode (an import checks its rows in its read-ahead
    thread); such objects must not set keyframes, whose check needs the item's kind.
    """
    if mode not in WRITE_MODES:
        raise MetadataWriteError(WRITE_MODE_UNKNOWN.format(mode=mode))
    ids = [int(pk) for pk in updates]
    result = WriteResult(change_set=change_set)
    if not ids:
        return result
    schema = schema_current(workspace=workspace)
    embedding_fields = list(schema.embeddings)
    with transaction.atomic():
        current = locked_rows(workspace, ids)
        stored = stored_vectors(list(current), embedding_fields) if embedding_fields else {}
        ops: VectorOps = {}
        to_write: list[tuple[int, dict, Any]] = []
        for pk, metadata in updates.items():
            pk = int(pk)
            if pk not in current:
                result.rows.append(
                    {"item": pk, "uid": None, "status": STATUS_FAILED,
                     "errors": [{"key": "", "msg": ITEM_NOT_FOUND, "expected": "an item id", "value": pk}]}
                )
                continue
            uid, kind, old, _text = current[pk]
            if validated:
                normalised, errors = metadata, []
            else:
                normalised, errors = validate_metadata(schema, metadata, partial=(mode == MODE_MERGE), item_kind=kind)
            row = {"item": pk, "uid": str(uid), "status": STATUS_FAILED, "errors": errors}
            item_ops: VectorOps = {}
            if not errors:
                normalised, vectors = split_vectors(schema, normalised)  # vectors never enter the document
                if embedding_fields:
                    item_ops = vector_ops(pk, vectors, overwrite=mode == MODE_OVERWRITE, fields=embedding_fields,
                                          stored=stored)
                new = _apply(mode, old, normalised)
                errors = _size_errors(new)
                row["errors"] = errors
            if not errors:
                ops.update(item_ops)
                # `!=` alone would call 1, 1.0 and True equal; equal objects are compared in canonical form.
                if new == old and canonical_dumps(new) == canonical_dumps(old):
                    row["status"] = STATUS_CHANGED if item_ops else STATUS_UNCHANGED
                else:
                    row["status"] = STATUS_CHANGED
                    to_write.append((pk, new, old))
            result.rows.append(row)
        vectors_apply(workspace=workspace, ops=ops)
        if to_write or ops:
            if result.change_set is None:
                result.change_set = ChangeSet.objects.create(
                    workspace=workspace,
                    user=user,
                    operation=operation or mode,
                    description=description[:500],
                    source=source,
                )
            write_rows(
                workspace=workspace, change_set=result.change_set, rows=to_write,
                texts={pk: current[pk][3] for pk, _, _ in to_write},
            )
            vectors_record(workspace=workspace, change_set=result.change_set, ops=ops, stored=stored)
    return result


def item_metadata_write_by_uid(
    *,
    workspace: Workspace,
    user,
    updates: Mapping[str | uuid.UUID, dict],
    mode: str,
    source: str = "ui",
    change_set: ChangeSet | None = None,
    description: str = "",
    operation: str = "",
) -> WriteResult:
    """`item_metadata_write` keyed by item uid (the `media_id`); an unknown or malformed uid is a failed row."""
    parsed: dict[str, uuid.UUID | None] = {}
    for raw in updates:
        try:
            parsed[str(raw)] = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
        except ValueError:
            parsed[str(raw)] = None
    valid = [u for u in parsed.values() if u is not None]
    pk_by_uid = dict(
        Item.objects.filter(workspace=workspace, uid__in=valid).values_list("uid", "id")
    ) if valid else {}
    by_pk = {pk_by_uid[parsed[str(raw)]]: md for raw, md in updates.items() if parsed[str(raw)] in pk_by_uid}
    inner = item_metadata_write(
        workspace=workspace, user=user, updates=by_pk, mode=mode, source=source, change_set=change_set,
        description=description, operation=operation,
    )
    inner_rows = {row["item"]: row for row in inner.rows}
    rows = []
    for raw in updates:
        uid = parsed[str(raw)]
        if uid in pk_by_uid:
            rows.append(inner_rows[pk_by_uid[uid]])
        else:
            rows.append(
                {"item": None, "uid": str(raw), "status": STATUS_FAILED,
                 "errors": [{"key": "", "msg": ITEM_NOT_FOUND, "expected": "a media id", "value": str(raw)}]}
            )
    return WriteResult(change_set=inner.change_set, rows=rows)


def item_metadata_rename_key(
    *, workspace: Workspace, change_set: ChangeSet, item_ids: list[int], old: str, new: str
) -> int:
    """Move the value of key `old` to key `new` in the metadata of these items (those holding `old`), as is
    (no validation: a value that did not fit its field moves unchanged), recorded in `change_set` so that its
    undo moves them back. A value already under `new` is replaced (the change set keeps it). Runs in the
    caller's transaction; returns the number of items changed."""
    current = locked_rows(workspace, item_ids)
    rows = []
    for pk, (_uid, _kind, metadata, _text) in current.items():
        if isinstance(metadata, dict) and old in metadata:
            moved = dict(metadata)
            moved[new] = moved.pop(old)
            rows.append((pk, moved, metadata))
    write_rows(workspace=workspace, change_set=change_set, rows=rows, texts={pk: current[pk][3] for pk, _, _ in rows})
    return len(rows)

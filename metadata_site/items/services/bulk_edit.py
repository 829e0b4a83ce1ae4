"""Bulk edit: "set `key` = value" / "remove `key`" on a selection, previewed then applied in batches."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from metadata_site.workspaces.models import Workspace

from .rows import canonical_dumps
from .writes import MODE_MERGE, WriteResult, item_metadata_write

BULK_BATCH_SIZE = 5000
BULK_SAMPLE_SIZE = 10


@dataclass
class BulkPreview:
    """What "set `key` = value" / "remove `key`" would do to a selection, before it is applied."""

    selected: int
    changing: int
    unchanged: int
    sample: list[dict]  # {"item", "uid", "title", "before", "after"}; before/after: the key's value or None
    item_ids: list[int] = field(default_factory=list, repr=False)


def item_metadata_bulk_preview(
    *, workspace: Workspace, items: QuerySet, key: str, value: Any = None, remove: bool = False
) -> BulkPreview:
    """Count the items of `items` (scoped to `workspace`) whose `key` would change, with a sample.

    `value` must already be validated and normalised for the field (`validate_value`).
    """
    selected = changing = 0
    sample: list[dict] = []
    ids: list[int] = []
    target = canonical_dumps(value)
    rows = items.filter(workspace=workspace).order_by("id").values_list("id", "uid", "title", "client_metadata")
    for pk, uid, title, metadata in rows.iterator(chunk_size=2000):
        selected += 1
        md = metadata if isinstance(metadata, dict) else {}
        if remove:
            changes = key in md
        else:
            changes = key not in md or canonical_dumps(md[key]) != target
        if not changes:
            continue
        changing += 1
        ids.append(pk)
        if len(sample) < BULK_SAMPLE_SIZE:
            sample.append(
                {"item": pk, "uid": str(uid), "title": title, "before": md.get(key), "after": None if remove else value}
            )
    return BulkPreview(selected=selected, changing=changing, unchanged=selected - changing, sample=sample, item_ids=ids)


def item_metadata_bulk_apply(
    *, workspace: Workspace, user, items: QuerySet, key: str, value: Any = None, remove: bool = False,
    source: str = "ui",
) -> WriteResult:
    """Apply "set `key` = value" / "remove `key`" to the items of `items` whose value differs, in batches of
    set-based writes inside one transaction and one change set. Rows of items already holding the value are
    reported "unchanged"."""
    with transaction.atomic():
        preview = item_metadata_bulk_preview(workspace=workspace, items=items, key=key, value=value, remove=remove)
        description = f"Removed {key}" if remove else f"Set {key} = {json.dumps(value, ensure_ascii=False)}"
        result = WriteResult(change_set=None)
        patch = {key: None if remove else value}
        for start in range(0, len(preview.item_ids), BULK_BATCH_SIZE):
            batch = preview.item_ids[start : start + BULK_BATCH_SIZE]
            written = item_metadata_write(
                workspace=workspace, user=user, updates=dict.fromkeys(batch, patch), mode=MODE_MERGE,
                source=source, change_set=result.change_set, operation="bulk_remove" if remove else "bulk_set",
                description=f"{description} on {preview.changing} items"[:500],
            )
            result.change_set = written.change_set
            result.rows.extend(written.rows)
        result.skipped = preview.unchanged
    return result

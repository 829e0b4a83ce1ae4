"""Writes of item metadata and items: one service for one item or a million, with row-level results and change
sets. The public names are imported from here; each module says what it does:

- `writes`: `item_metadata_write` (by pk), `item_metadata_write_by_uid`, `item_metadata_rename_key`, and the
  write modes, row statuses and `WriteResult`;
- `patch`: `item_metadata_patch`, PostgreSQL's one-statement write of validated patches (imports by uid);
- `undo`: `change_set_undo`;
- `bulk_edit`: `item_metadata_bulk_preview` / `item_metadata_bulk_apply`;
- `create`: `items_create_bulk`;
- `keyframes`: the frame items of videos kept in step with their `keyframes`;
- `rows`: the row primitives all of them share (locked reads, canonical dumps and hashes, set-based writes);
- `batches`: change sets recorded by one `ChangeSetBatch` row per batch on PostgreSQL, and `change_set_entries`,
  the per-item view of a change set whichever way it was recorded.

Every write reads the touched rows once (locked), validates and merges in Python, then writes all changed rows
in one set-based statement and records one change-set entry per item (its whole previous metadata object and
a hash of the new one), so the number of queries does not grow with the number of items. Imports of metadata
rows by uid on PostgreSQL use `item_metadata_patch` instead: validated patches merged, written and recorded by
one statement, without reading the rows into Python, and record each batch in one row (`batches`).
"""

from .batches import change_set_entries
from .bulk_edit import (
    BULK_BATCH_SIZE,
    BULK_SAMPLE_SIZE,
    BulkPreview,
    item_metadata_bulk_apply,
    item_metadata_bulk_preview,
)
from .create import NewItem, items_create_bulk
from .keyframes import FIRST_FRAME, KEYFRAME_TITLE, video_frames_wanted, video_keyframes_sync
from .patch import PG_HASH_PREFIX, PG_HASH_SQL, PG_MD5_PREFIX, PatchResult, item_metadata_patch
from .rows import metadata_hash
from .undo import (
    CHANGE_SET_ALREADY_UNDONE,
    CHANGE_SET_NOTHING_TO_UNDO,
    UNDO_BATCH_SIZE,
    UNDO_CONFLICTS_NAMED,
    ChangeSetError,
    UndoResult,
    change_set_undo,
)
from .writes import (
    ITEM_NOT_FOUND,
    MODE_MERGE,
    MODE_OVERWRITE,
    OPERATION_RENAME,
    STATUS_CHANGED,
    STATUS_FAILED,
    STATUS_UNCHANGED,
    WRITE_MODE_UNKNOWN,
    WRITE_MODES,
    MetadataWriteError,
    WriteResult,
    item_metadata_rename_key,
    item_metadata_write,
    item_metadata_write_by_uid,
)

__all__ = [
    "BULK_BATCH_SIZE", "BULK_SAMPLE_SIZE", "CHANGE_SET_ALREADY_UNDONE", "CHANGE_SET_NOTHING_TO_UNDO", "FIRST_FRAME",
    "ITEM_NOT_FOUND", "KEYFRAME_TITLE", "MODE_MERGE", "MODE_OVERWRITE", "OPERATION_RENAME", "PG_HASH_PREFIX",
    "PG_HASH_SQL", "PG_MD5_PREFIX", "STATUS_CHANGED", "STATUS_FAILED", "STATUS_UNCHANGED", "UNDO_BATCH_SIZE",
    "UNDO_CONFLICTS_NAMED", "WRITE_MODES", "WRITE_MODE_UNKNOWN", "BulkPreview", "ChangeSetError",
    "MetadataWriteError", "NewItem", "PatchResult", "UndoResult", "WriteResult", "change_set_entries", "change_set_undo",
    "item_metadata_bulk_apply", "item_metadata_bulk_preview", "item_metadata_patch", "item_metadata_rename_key",
    "item_metadata_write", "item_metadata_write_by_uid", "items_create_bulk", "metadata_hash",
    "video_frames_wanted", "video_keyframes_sync",
]

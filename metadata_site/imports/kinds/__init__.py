"""The three import kinds: what a row of each looks like and how a batch of rows is checked and applied.

Modules: `base` (messages, cell and URL reading, `Scope`, `Outcome`, `Kind`), `metadata_rows` (`MetadataRows`,
`FieldValues`), `data` (`DataImport`); `KINDS` maps an import kind to its class.

A kind handles a batch in two steps. `prepare` needs no database: it turns parsed rows (see
`parsers`) into operations and checks what it can; the apply pass runs it in a read-ahead thread
while the database writes the previous batch. `commit` looks up the batch's items with one query
(by uid, or by title within the chosen folder or dataset) and either only checks them (dry run) or
writes them, recorded in the import's change set: through `items.services.item_metadata_write`, or,
for metadata rows matched by uid on PostgreSQL, as validated patches merged by one statement
(`items.services.item_metadata_patch`). Values are checked by `schemas.validation` and nowhere
else; a CSV cell's text is read into a typed value by `schemas.values.parse_text` before that check.
"""

from ..models import ImportKind
from .base import (
    CSV_DATA_COLUMNS,
    CSV_FIELD_VALUES_COLUMNS,
    CSV_NO_ID_COLUMN,
    CSV_UNKNOWN_COLUMN,
    QUOTED_VALUE_MAX,
    RECORD_KEYS,
    ROW_AMBIGUOUS_TITLE,
    ROW_BAD_MEDIA_ID,
    ROW_BAD_TEXT,
    ROW_BAD_URL,
    ROW_CONFIG_KEYFRAME_MODE,
    ROW_CONFIG_NOT_AN_OBJECT,
    ROW_CONFIG_NOT_VIDEO,
    ROW_CONFIG_SAMPLING_RATE,
    ROW_CONFIG_UNKNOWN_KEYS,
    ROW_FRAME,
    ROW_FRAMES_NOT_A_LIST,
    ROW_KIND_MISMATCH,
    ROW_METADATA_NOT_AN_OBJECT,
    ROW_NO_ITEM_TITLE,
    ROW_NO_ITEM_UID,
    ROW_NO_KEY,
    ROW_NO_URL,
    ROW_NO_VALUE,
    ROW_NOT_AN_OBJECT,
    ROW_TITLE_NEEDS_SCOPE,
    ROW_TITLE_TAKEN_MEANWHILE,
    ROW_TITLE_TOO_LONG,
    ROW_UNKNOWN_KEYS,
    TARGET_IN,
    VIDEO_CONFIG_DEFAULTS,
    Kind,
    Op,
    Outcome,
    Prepared,
    Scope,
    clean_video_config,
    csv_cell,
    csv_metadata,
    distinct_runs,
    is_http_url,
    quote_value,
    reason_text,
    url_name,
)
from .data import DataImport
from .metadata_rows import FieldValues, MetadataRows

KINDS: dict[str, type[Kind]] = {
    ImportKind.METADATA_ROWS: MetadataRows,
    ImportKind.FIELD_VALUES: FieldValues,
    ImportKind.DATA: DataImport,
}

__all__ = [
    "CSV_DATA_COLUMNS",
    "CSV_FIELD_VALUES_COLUMNS",
    "CSV_NO_ID_COLUMN",
    "CSV_UNKNOWN_COLUMN",
    "DataImport",
    "FieldValues",
    "KINDS",
    "Kind",
    "MetadataRows",
    "Op",
    "Outcome",
    "Prepared",
    "QUOTED_VALUE_MAX",
    "RECORD_KEYS",
    "ROW_AMBIGUOUS_TITLE",
    "ROW_BAD_MEDIA_ID",
    "ROW_BAD_TEXT",
    "ROW_BAD_URL",
    "ROW_CONFIG_KEYFRAME_MODE",
    "ROW_CONFIG_NOT_AN_OBJECT",
    "ROW_CONFIG_NOT_VIDEO",
    "ROW_CONFIG_SAMPLING_RATE",
    "ROW_CONFIG_UNKNOWN_KEYS",
    "ROW_FRAME",
    "ROW_FRAMES_NOT_A_LIST",
    "ROW_KIND_MISMATCH",
    "ROW_METADATA_NOT_AN_OBJECT",
    "ROW_NOT_AN_OBJECT",
    "ROW_NO_ITEM_TITLE",
    "ROW_NO_ITEM_UID",
    "ROW_NO_KEY",
    "ROW_NO_URL",
    "ROW_NO_VALUE",
    "ROW_TITLE_NEEDS_SCOPE",
    "ROW_TITLE_TAKEN_MEANWHILE",
    "ROW_TITLE_TOO_LONG",
    "ROW_UNKNOWN_KEYS",
    "Scope",
    "TARGET_IN",
    "VIDEO_CONFIG_DEFAULTS",
    "clean_video_config",
    "csv_cell",
    "csv_metadata",
    "distinct_runs",
    "is_http_url",
    "quote_value",
    "reason_text",
    "url_name",
]

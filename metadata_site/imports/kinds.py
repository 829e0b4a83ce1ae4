"""The three import kinds: what a row of each looks like and how a batch of rows is checked and applied.

A kind handles a batch in two steps. `prepare` needs no database: it turns parsed rows (see
`parsers`) into operations and checks what it can; the apply pass runs it in a read-ahead thread
while the database writes the previous batch. `commit` looks up the batch's items with one query
(by uid, or by title within the chosen folder or dataset) and either only checks them (dry run) or
writes them, recorded in the import's change set: through `items.services.item_metadata_write`, or,
for metadata rows matched by uid on PostgreSQL, as validated patches merged by one statement
(`items.services.item_metadata_patch`). Values are checked by `schemas.validation` and nowhere
else; the CSV readers here only turn cell text into typed values before that check.
"""

import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from metadata_site.items.models import ChangeSet, Item, ItemKind
from metadata_site.items.services import (
    MODE_MERGE,
    STATUS_CHANGED,
    STATUS_FAILED,
    NewItem,
    item_metadata_patch,
    item_metadata_write,
    items_create_bulk,
    video_keyframes_sync,
)
from metadata_site.lib import fastjson
from metadata_site.lib.bloom import StringBloom
from metadata_site.lib.jsondiff import as_json
from metadata_site.projects.models import Dataset, Folder
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from metadata_site.schemas.validation import (
    KEYFRAMES,
    VALUE_NOT_A_BOOLEAN,
    VALUE_NOT_A_NUMBER,
    VALUE_NOT_AN_INTEGER,
    text_problem,
    validate_metadata,
)

from .models import ImportKind, ImportMode, ImportTask
from .parsers import ImportFileError, Row, json_type_name

# --- file errors (the whole task fails, nothing changes) ----------------------------------------
CSV_NO_ID_COLUMN = "The CSV file has no media_id or title column."
CSV_FIELD_VALUES_COLUMNS = "The CSV file needs the columns media_id and value, found {columns}."
CSV_DATA_COLUMNS = "The CSV file needs a url column."
CSV_UNKNOWN_COLUMN = "The CSV column {column!r} is not a declared field; declare it first or remove the column."

# --- row errors --------------------------------------------------------------------------------
ROW_NOT_AN_OBJECT = "Expected a JSON object, got {found}."
ROW_NO_KEY = "The row has neither a media_id nor a title."
ROW_BAD_MEDIA_ID = "The media_id {value!r} is not a valid id."
ROW_NO_VALUE = "The row has no value."
ROW_METADATA_NOT_AN_OBJECT = "metadata must be a JSON object, got {found}."
ROW_NO_ITEM_UID = "No item with the media_id {value} in {scope}."
ROW_NO_ITEM_TITLE = "No item titled {value!r} in {scope}."
ROW_AMBIGUOUS_TITLE = "{count} items are titled {value!r} in {scope}; use the media_id."
ROW_TITLE_NEEDS_SCOPE = "Matching by title needs a folder or a dataset to look in."
ROW_NO_URL = "The {what} has no objectUrl."
ROW_BAD_URL = "The objectUrl {value!r} is not an http or https URL."
ROW_FRAMES_NOT_A_LIST = "images must be a list of frames."
ROW_FRAME = "Frame {position}: {reason}"
# A video's per-frame metadata in the Encord shape: clientMetadata {"$frames": {"<frame>": {...}}} (custom
# embeddings of sampled frames or keyframes, and their metadata).
FRAMES_KEY = "$frames"
ROW_FRAMES_NOT_AN_OBJECT = "clientMetadata.$frames must be an object of frame numbers to metadata objects, got {found}."
ROW_FRAMES_NOT_VIDEO = "clientMetadata.$frames is for videos only."
ROW_FRAMES_BAD_FRAME = "clientMetadata.$frames: {key!r} is not a frame number (a whole number, 0 or more)."
ROW_FRAMES_NOT_METADATA = "clientMetadata.$frames[{key!r}] must be a metadata object, got {found}."
ROW_FRAMES_METADATA = "clientMetadata.$frames[{frame}]: {reason}"
ROW_TITLE_TOO_LONG = "The title is longer than 500 characters."
ROW_KIND_MISMATCH = "An item titled {value!r} already exists in the folder as a {found}, not a {expected}."
ROW_BAD_TEXT = "{key}: {problem}"
ROW_TITLE_TAKEN_MEANWHILE = (
    "Another import created an item titled {value!r} in the folder while this one ran; the row was not applied."
)
ROW_UNKNOWN_KEYS = "Unknown key{s} {keys} in the {what}: expected {expected}."
ROW_CONFIG_NOT_VIDEO = "config is for videos only."
ROW_CONFIG_NOT_AN_OBJECT = "config must be a JSON object, got {found}."
ROW_CONFIG_UNKNOWN_KEYS = "Unknown key{s} {keys} in config: expected sampling_rate, keyframe_mode."
ROW_CONFIG_SAMPLING_RATE = "config.sampling_rate must be a number of samples per second, 0 or more, got {value!r}."
ROW_CONFIG_KEYFRAME_MODE = "config.keyframe_mode must be \"frame\" or \"seconds\", got {value!r}."

# The keys a data import's records may hold, by what they describe: any other key is a row error, never dropped.
RECORD_KEYS = {
    ItemKind.IMAGE: ("objectUrl", "title", "clientMetadata"),
    ItemKind.VIDEO: ("objectUrl", "title", "clientMetadata", "keyframes", "config"),
    ItemKind.IMAGE_GROUP: ("objectUrl", "title", "clientMetadata", "images"),
    ItemKind.FRAME: ("objectUrl", "title", "clientMetadata"),
}
# A video's import config when none is given (the seed: one sample a second, keyframes counted in frames).
VIDEO_CONFIG_DEFAULTS = {"sampling_rate": 1, "keyframe_mode": "frame"}

TARGET_IN = {"folder": "the folder {name!r}", "dataset": "the dataset {name!r}", None: "this workspace"}


# An http(s) URL with a plain host name: what urlsplit would accept, without its cost (8 µs a row).
_PLAIN_HTTP_URL = re.compile(r"https?://[a-z0-9][a-z0-9.-]*(?::[0-9]*)?(?:[/?#]|\Z)", re.IGNORECASE)


def _is_http_url(url: str) -> bool:
    if _PLAIN_HTTP_URL.match(url):
        return True
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def _url_name(url: str) -> str:
    try:
        return PurePosixPath(urlsplit(url).path).name
    except ValueError:
        return ""


QUOTED_VALUE_MAX = 80


def quote_value(value: Any, limit: int = QUOTED_VALUE_MAX) -> str:
    """A value as JSON text for an error message, cut to `limit` characters."""
    text = as_json(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(errors: list[dict]) -> str:
    """The reasons of a row's errors, each quoting the value it refused."""
    parts = []
    for e in errors:
        text = f"{e['key']}: {e['msg']}" if e.get("key") else e["msg"]
        if "value" in e:
            text += f" Got {quote_value(e['value'])}."
        parts.append(text)
    return "; ".join(parts)


def _cell(spec: FieldSpec, text: str) -> Any:
    """A CSV cell as the typed value the validator expects (the validator still checks it)."""
    text = text.strip()
    match spec.type:
        case FieldType.FLOAT:
            try:
                return float(text)
            except ValueError:
                raise _CellError(VALUE_NOT_A_NUMBER) from None
        case FieldType.INTEGER:
            try:
                return int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise _CellError(VALUE_NOT_AN_INTEGER) from None
                if not number.is_integer():
                    raise _CellError(VALUE_NOT_AN_INTEGER) from None
                return int(number)
        case FieldType.BOOLEAN:
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise _CellError(VALUE_NOT_A_BOOLEAN)
        case FieldType.ENUM if spec.is_multi:
            return [part.strip() for part in text.split("|") if part.strip()]
    return text


def _frames_metadata(raw: Any) -> dict[int, dict] | str:
    """A video's `$frames` (Encord: per-frame custom metadata and embeddings) as {frame number: metadata}, or the
    reason it is refused."""
    if not isinstance(raw, dict):
        return ROW_FRAMES_NOT_AN_OBJECT.format(found=json_type_name(raw))
    frames: dict[int, dict] = {}
    for key, value in raw.items():
        text = str(key).strip()
        if not text.isascii() or not text.isdigit():
            return ROW_FRAMES_BAD_FRAME.format(key=text[:40])
        if not isinstance(value, dict):
            return ROW_FRAMES_NOT_METADATA.format(key=text[:40], found=json_type_name(value))
        frames[int(text)] = value
    return frames


def clean_video_config(raw: Any) -> dict | str:
    """A data import's video `config` with the defaults filled in, or the reason it is refused.
    `sampling_rate` is samples per second (a number, or a numeric string as the seed writes it), 0 or more;
    0 keeps only the first frame and the keyframes. `keyframe_mode` says whether keyframes count frames or seconds."""
    if not isinstance(raw, dict):
        return ROW_CONFIG_NOT_AN_OBJECT.format(found=json_type_name(raw))
    unknown = sorted(set(raw) - set(VIDEO_CONFIG_DEFAULTS))
    if unknown:
        return ROW_CONFIG_UNKNOWN_KEYS.format(s="s" if len(unknown) > 1 else "", keys=", ".join(map(repr, unknown)))
    rate = raw.get("sampling_rate", VIDEO_CONFIG_DEFAULTS["sampling_rate"])
    number = rate
    if isinstance(rate, str):
        try:
            number = float(rate.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number) or number < 0:
        return ROW_CONFIG_SAMPLING_RATE.format(value=rate)
    mode = raw.get("keyframe_mode", VIDEO_CONFIG_DEFAULTS["keyframe_mode"])
    if mode not in ("frame", "seconds"):
        return ROW_CONFIG_KEYFRAME_MODE.format(value=mode)
    return {"sampling_rate": int(number) if float(number).is_integer() else float(number), "keyframe_mode": mode}


class _CellError(ValueError):
    pass


def _csv_metadata(schema: Schema, cells: dict[str, str], columns: Iterable[str]) -> tuple[dict, list[dict]]:
    """Typed metadata from the field columns of a CSV row; an empty cell sets nothing."""
    metadata: dict = {}
    errors: list[dict] = []
    for column in columns:
        text = cells[column]
        if not text.strip():
            continue
        spec = schema.get(column)
        try:
            metadata[column] = _cell(spec, text)
        except _CellError as exc:
            errors.append({"key": column, "msg": str(exc), "value": text})
    return metadata, errors


@dataclass
class Scope:
    """Where items are looked up: a folder (its subtree for ids, the folder itself for titles), a
    dataset, or the whole workspace."""

    task: ImportTask
    folder: Folder | None = None
    dataset: Dataset | None = None

    @cached_property
    def folder_ids(self) -> frozenset[int] | None:
        """The ids of the folder and its subfolders (None without a folder), read once per import."""
        return None if self.folder is None else frozenset(self.folder.descendant_ids(include_self=True))

    @property
    def label(self) -> str:
        if self.folder is not None:
            return TARGET_IN["folder"].format(name=self.folder.name)
        if self.dataset is not None:
            return TARGET_IN["dataset"].format(name=self.dataset.name)
        return TARGET_IN[None]

    def items(self):
        qs = Item.objects.filter(workspace_id=self.task.workspace_id)
        if self.dataset is not None:
            qs = qs.filter(dataset_memberships__dataset=self.dataset)
        return qs

    def by_uid(self, uids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, str]]:
        if not uids:
            return {}
        # By uid alone, the workspace and folder checked here: given `workspace_id = ...` as well, SQLite walked the
        # whole workspace through (workspace, title) instead of the unique uid index (9 µs a row instead of 2).
        folders = self.folder_ids
        workspace_id = self.task.workspace_id
        # The uids come back as text (SQLite keeps 32 hex digits), which the caller's UUIDs map to: no UUID object
        # is made per row.
        text = (lambda u: u.hex) if connection.vendor == "sqlite" else str
        rows: Iterable[tuple[str, int, str, int, int]]
        if self.dataset is None and connection.vendor == "sqlite":
            # The hex digits as they are stored, without the ORM's per-uid conversion (a third of the lookup).
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT uid, id, kind, workspace_id, folder_id FROM {connection.ops.quote_name(Item._meta.db_table)} "
                    "WHERE uid IN (SELECT value FROM json_each(%s))",
                    (json.dumps([u.hex for u in uids]),),
                )
                rows = cursor.fetchall()
        else:
            qs = Item.objects.filter(uid__in_array=uids)
            if self.dataset is not None:
                qs = qs.filter(dataset_memberships__dataset=self.dataset)
            rows = qs.annotate(uid_text=Cast("uid", TextField())).values_list(
                "uid_text", "pk", "kind", "workspace_id", "folder_id"
            )
        found = {
            u: (pk, kind) for u, pk, kind, ws, folder in rows
            if ws == workspace_id and (folders is None or folder in folders)
        }
        return {uid: found[key] for uid in uids if (key := text(uid)) in found}

    def by_title(self, titles: list[str], *, top_level: bool = False) -> dict[str, list[tuple[int, str]]]:
        if not titles:
            return {}
        qs = self.items().filter(title__in_array=titles)
        if self.folder is not None:
            qs = qs.filter(folder=self.folder)
        if top_level:
            qs = qs.filter(parent__isnull=True)
        found: dict[str, list[tuple[int, str]]] = {}
        for title, pk, kind in qs.values_list("title", "pk", "kind"):
            found.setdefault(title, []).append((pk, kind))
        return found


@dataclass
class Outcome:
    """What one batch did (or, in a dry run, would do)."""

    valid: int = 0
    updated: int = 0
    unchanged: int = 0
    inserted: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)


@dataclass
class Prepared:
    """A batch read and checked as far as it can be without the database (`Kind.prepare`, which may run in
    a thread of its own ahead of the writes); `Kind.commit` finishes it."""

    rows: list[Row]
    errors: list[tuple[int, str]] = field(default_factory=list)
    ops: list = field(default_factory=list)
    # The ops' metadata already validated in `prepare`, and the reasons of those that failed, by row index.
    validated: bool = False
    invalid: dict[int, str] = field(default_factory=dict)
    # The set-based path (metadata rows matched by uid on PostgreSQL): runs of patch documents with distinct
    # items (see items.services.item_metadata_patch).
    patches: list[list[str]] | None = None
    bytes_read: int = 0


@dataclass
class _Op:
    index: int
    metadata: dict
    uid: uuid.UUID | None = None
    title: str | None = None
    item: int | None = None
    item_kind: str = ""


class Kind:
    json_shapes: tuple[str, ...] = ("array",)
    sections: tuple[str, ...] = ()
    # Whether the kind creates items (the apply pass then keeps the item table's statistics fresh).
    adds_items = False

    def __init__(self, *, task: ImportTask, schema: Schema, scope: Scope, user=None):
        self.task = task
        self.schema = schema
        self.scope = scope
        self.user = user
        self.partial = task.mode == ImportMode.MERGE
        # "title": match rows by title even when they carry a media_id (e.g. an export from another workspace).
        self.match = task.target.get("match", "media_id")
        self.columns: list[str] = []
        self.is_csv = False

    def check_columns(self, columns: list[str]) -> None:
        """Called once for a CSV file with its header; raises ImportFileError when it cannot work."""
        self.is_csv = True
        self.columns = columns

    def run_batch(self, rows: list[Row], *, write: bool, change_set: ChangeSet | None) -> Outcome:
        return self.commit(self.prepare(rows, write=write), write=write, change_set=change_set)

    def prepare(self, rows: list[Row], *, write: bool) -> Prepared:
        """The part of a batch that needs no database: parse and check the rows. Must not query."""
        raise NotImplementedError

    def commit(self, prepared: Prepared, *, write: bool, change_set: ChangeSet | None) -> Outcome:
        """Look the batch's items up and check (dry run) or write it."""
        raise NotImplementedError

    # --- shared by the metadata kinds ----------------------------------------------------------
    def _parse_key(self, record: dict, op: _Op) -> str | None:
        media_id = record.get("media_id")
        if media_id not in (None, "") and self.match != "title":
            try:
                op.uid = media_id if isinstance(media_id, uuid.UUID) else uuid.UUID(str(media_id))
            except ValueError:
                return ROW_BAD_MEDIA_ID.format(value=media_id)
            return None
        title = record.get("title")
        if title in (None, ""):
            return ROW_NO_KEY
        if self.scope.folder is None and self.scope.dataset is None:
            return ROW_TITLE_NEEDS_SCOPE
        op.title = str(title)
        problem = text_problem(op.title)
        return ROW_BAD_TEXT.format(key="title", problem=problem) if problem else None

    def _resolve(self, ops: list[_Op], outcome: Outcome) -> list[_Op]:
        """Attach each op to its item (one query for uids, one for titles); unmatched ops are errors."""
        by_uid = self.scope.by_uid([op.uid for op in ops if op.uid is not None])
        by_title = self.scope.by_title(list({op.title for op in ops if op.title is not None}))
        matched = []
        for op in ops:
            if op.uid is not None:
                hit = by_uid.get(op.uid)
                if hit is None:
                    outcome.errors.append((op.index, ROW_NO_ITEM_UID.format(value=op.uid, scope=self.scope.label)))
                    continue
            else:
                hits = by_title.get(op.title, [])
                if not hits:
                    outcome.errors.append((op.index, ROW_NO_ITEM_TITLE.format(value=op.title, scope=self.scope.label)))
                    continue
                if len(hits) > 1:
                    outcome.errors.append(
                        (op.index, ROW_AMBIGUOUS_TITLE.format(count=len(hits), value=op.title, scope=self.scope.label))
                    )
                    continue
                hit = hits[0]
            op.item, op.item_kind = hit
            matched.append(op)
        return matched

    def _check_or_write(
        self, ops: list[_Op], outcome: Outcome, *, write: bool, change_set: ChangeSet | None, validated: bool = False
    ) -> None:
        if not write:
            for op in ops:
                _, errors = validate_metadata(self.schema, op.metadata, partial=self.partial, item_kind=op.item_kind)
                if errors:
                    outcome.errors.append((op.index, _reason(errors)))
                else:
                    outcome.valid += 1
            return
        # One write per run of distinct items, so a file naming an item twice applies both rows in order.
        for group in _distinct_runs(ops, key=lambda op: op.item):
            result = item_metadata_write(
                workspace=self.task.workspace,
                user=self.user,
                updates={op.item: op.metadata for op in group},
                mode=self.task.mode,
                source="import",
                change_set=change_set,
                validated=validated,
            )
            for op, row in zip(group, result.rows, strict=True):
                if row["status"] == STATUS_FAILED:
                    outcome.errors.append((op.index, _reason(row["errors"])))
                elif row["status"] == STATUS_CHANGED:
                    outcome.valid += 1
                    outcome.updated += 1
                else:
                    outcome.valid += 1
                    outcome.unchanged += 1


def _distinct_runs(ops: list, *, key) -> Iterable[list]:
    run: list = []
    seen: set = set()
    for op in ops:
        k = key(op)
        if k in seen:
            yield run
            run, seen = [], set()
        run.append(op)
        seen.add(k)
    if run:
        yield run


class MetadataRows(Kind):
    """`{"<uid>": {...}}`, a JSON array / JSONL of `{"media_id" | "title", "metadata"}`, or CSV with a
    media_id or title column and one column per declared field."""

    json_shapes = ("array", "object")
    ignored_columns = ("url", "kind")

    def check_columns(self, columns: list[str]) -> None:
        if "media_id" not in columns and "title" not in columns:
            raise ImportFileError(CSV_NO_ID_COLUMN)
        self.is_csv = True
        self.columns = []
        for column in columns:
            if column in ("media_id", "title", *self.ignored_columns):
                continue
            if self.schema.get(column) is None:
                raise ImportFileError(CSV_UNKNOWN_COLUMN.format(column=column))
            self.columns.append(column)

    def _op(self, row: Row) -> _Op | str:
        op = _Op(index=row.index, metadata={})
        value = row.value
        if isinstance(value, tuple):  # a member of {"<uid>": {...}}
            key, metadata = value
            error = self._parse_key({"media_id": key}, op)
            if error:
                return error
            if not isinstance(metadata, dict):
                return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
            op.metadata = metadata
            return op
        if not isinstance(value, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(value))
        error = self._parse_key(value, op)
        if error:
            return error
        if self.is_csv:
            metadata, errors = _csv_metadata(self.schema, value, self.columns)
            if errors:
                return _reason(errors)
            op.metadata = metadata
            return op
        metadata = value.get("metadata", {})
        if not isinstance(metadata, dict):
            return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
        op.metadata = metadata
        return op

    def prepare(self, rows: list[Row], *, write: bool) -> Prepared:
        prepared = Prepared(rows=rows)
        for row in rows:
            if row.error:
                prepared.errors.append((row.index, row.error))
                continue
            op = self._op(row)
            if isinstance(op, str):
                prepared.errors.append((row.index, op))
            else:
                prepared.ops.append(op)
        if write:
            self._prevalidate(prepared)
            if prepared.validated and self.set_based:
                self._prepare_patches(prepared)
        return prepared

    def _prevalidate(self, prepared: Prepared) -> None:
        """Validate the ops' metadata here (the read-ahead thread) rather than in the write. Left to the write
        when an op sets keyframes, whose check needs the item's kind."""
        if any(KEYFRAMES in op.metadata for op in prepared.ops):
            return
        for op in prepared.ops:
            normalised, errors = validate_metadata(self.schema, op.metadata, partial=self.partial)
            if errors:
                prepared.invalid[op.index] = _reason(errors)
            op.metadata = normalised
        prepared.validated = True

    @property
    def set_based(self) -> bool:
        return connection.vendor == "postgresql"

    def _prepare_patches(self, prepared: Prepared) -> None:
        """Write each validated op as a patch document for `item_metadata_patch`. Left to the general path
        (``patches`` stays None) when an op is matched by title, or when the schema has an embedding field (its
        vectors leave the document in `item_metadata_write`, see `items.embeddings`)."""
        if any(op.uid is None for op in prepared.ops) or self.schema.embeddings:
            return
        dumps = fastjson.dumps
        runs: list[list[str]] = [[]]
        seen: set[str] = set()
        for op in prepared.ops:
            uid = str(op.uid)
            if uid in seen:  # the same item again: a new run, so both rows apply in order
                runs.append([])
                seen = set()
            seen.add(uid)
            if op.index in prepared.invalid:
                runs[-1].append(f'{{"i":{op.index},"u":"{uid}","x":true}}')
                continue
            normalised = op.metadata
            removed = [k for k, v in normalised.items() if v is None]
            if removed:
                normalised = {k: v for k, v in normalised.items() if v is not None}
                extra = ',"r":' + dumps(removed)
            else:
                extra = ""
            patch = dumps(normalised)
            runs[-1].append(f'{{"i":{op.index},"u":"{uid}","p":{patch}{extra}}}')
        prepared.patches = runs

    def commit(self, prepared: Prepared, *, write: bool, change_set: ChangeSet | None) -> Outcome:
        outcome = Outcome(errors=list(prepared.errors))
        if prepared.patches is not None and write:
            self._commit_patches(prepared, outcome, change_set=change_set)
        else:
            matched = self._resolve(prepared.ops, outcome)
            if prepared.invalid:
                outcome.errors.extend((op.index, prepared.invalid[op.index]) for op in matched if op.index in prepared.invalid)
                matched = [op for op in matched if op.index not in prepared.invalid]
            self._check_or_write(matched, outcome, write=write, change_set=change_set, validated=prepared.validated)
        outcome.errors.sort()
        return outcome

    def _commit_patches(self, prepared: Prepared, outcome: Outcome, *, change_set: ChangeSet | None) -> None:
        scope = self.scope
        folder_ids = sorted(scope.folder_ids) if scope.folder_ids is not None else None
        uid_of = {op.index: op.uid for op in prepared.ops}
        missing: set[int] = set()
        for run in prepared.patches:
            result = item_metadata_patch(
                workspace=self.task.workspace, change_set=change_set, patches=run, merge=self.partial,
                folder_ids=folder_ids, dataset_id=scope.dataset.pk if scope.dataset is not None else None,
            )
            missing.update(result.missing)
            outcome.valid += result.matched
            outcome.updated += result.changed
            outcome.unchanged += result.matched - result.changed
        # As on the general path, a row whose item is not there says so before it says what else is wrong.
        for index in missing:
            outcome.errors.append((index, ROW_NO_ITEM_UID.format(value=uid_of[index], scope=scope.label)))
        outcome.errors.extend((index, reason) for index, reason in prepared.invalid.items() if index not in missing)


class FieldValues(MetadataRows):
    """One field per task: `[{"media_id", "value"}]` (JSON, JSONL) or CSV `media_id,value`."""

    json_shapes = ("array",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.spec = self.schema.get(self.task.target.get("field", ""))
        self.partial = True

    def check_columns(self, columns: list[str]) -> None:
        if "media_id" not in columns or "value" not in columns:
            raise ImportFileError(CSV_FIELD_VALUES_COLUMNS.format(columns=", ".join(columns)))
        self.is_csv = True
        self.columns = columns

    def _op(self, row: Row) -> _Op | str:
        value = row.value
        if not isinstance(value, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(value))
        op = _Op(index=row.index, metadata={})
        if value.get("media_id") in (None, ""):
            return ROW_NO_KEY
        error = self._parse_key(value, op)
        if error:
            return error
        if "value" not in value:
            return ROW_NO_VALUE
        cell = value["value"]
        if self.is_csv:
            if not cell.strip():
                return ROW_NO_VALUE
            try:
                cell = _cell(self.spec, cell)
            except _CellError as exc:
                return _reason([{"key": self.spec.name, "msg": str(exc), "value": cell}])
        op.metadata = {self.spec.name: cell}
        return op

    def _check_or_write(self, ops, outcome, *, write, change_set, validated=False):
        # Always a merge of the one field, whatever the task's mode.
        mode = self.task.mode
        self.task.mode = ImportMode.MERGE
        try:
            super()._check_or_write(ops, outcome, write=write, change_set=change_set, validated=validated)
        finally:
            self.task.mode = mode


@dataclass
class _Spec:
    index: int
    kind: str
    title: str
    url: str
    metadata: dict
    frames: list["_Spec"] = field(default_factory=list)
    frame_index: int | None = None
    config: dict | None = None  # a video's validated import config (None: none given)
    frame_metadata: dict[int, dict] = field(default_factory=dict)  # a video's `$frames`, by frame number


class DataImport(Kind):
    """Creates items in a folder from `{"images": [...], "videos": [...], "image_groups": [...]}` or a
    CSV `url,title,<fields>`; an item whose title already exists in the folder is updated instead."""

    json_shapes = ("sections",)
    sections = ("images", "videos", "image_groups")
    adds_items = True
    section_kinds = {"images": ItemKind.IMAGE, "videos": ItemKind.VIDEO, "image_groups": ItemKind.IMAGE_GROUP}
    section_names = {"images": "image", "videos": "video", "image_groups": "image group"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The titles this process created, when the folder had no top-level item at its first batch (else
        # False; None until then): see `_existing`.
        self._created: StringBloom | bool | None = None
        # Whether another import has created items in the folder since this one started (see `_lock_folder`).
        self._shared = False

    def check_columns(self, columns: list[str]) -> None:
        if "url" not in columns:
            raise ImportFileError(CSV_DATA_COLUMNS)
        self.is_csv = True
        self.columns = []
        for column in columns:
            if column in ("url", "title", "media_id", "kind"):
                continue
            if self.schema.get(column) is None:
                raise ImportFileError(CSV_UNKNOWN_COLUMN.format(column=column))
            self.columns.append(column)

    def _media(self, record: Any, *, what: str, kind: str, index: int, frame_index=None) -> _Spec | str:
        if not isinstance(record, dict):
            return ROW_NOT_AN_OBJECT.format(found=json_type_name(record))
        known = RECORD_KEYS[kind]
        unknown = [k for k in record if k not in known]
        if unknown:
            if "config" in unknown:
                return ROW_CONFIG_NOT_VIDEO
            return ROW_UNKNOWN_KEYS.format(
                s="s" if len(unknown) > 1 else "", keys=", ".join(map(repr, sorted(unknown))), what=what,
                expected=", ".join(known),
            )
        url = record.get("objectUrl") or ""
        if kind != ItemKind.IMAGE_GROUP:
            if not url:
                return ROW_NO_URL.format(what=what)
            if not _is_http_url(str(url)):
                return ROW_BAD_URL.format(value=url)
        title = record.get("title") or (_url_name(str(url)) if url else "")
        if not title:
            return ROW_NO_KEY
        if len(str(title)) > 500:
            return ROW_TITLE_TOO_LONG
        for key, text in (("title", str(title)), ("objectUrl", str(url))):
            problem = text_problem(text)
            if problem:
                return ROW_BAD_TEXT.format(key=key, problem=problem)
        metadata = record.get("clientMetadata", {})
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            return ROW_METADATA_NOT_AN_OBJECT.format(found=json_type_name(metadata))
        if kind == ItemKind.VIDEO and "keyframes" in record:
            metadata = {**metadata, "keyframes": record["keyframes"]}
        frame_metadata: dict[int, dict] = {}
        if FRAMES_KEY in metadata:
            if kind != ItemKind.VIDEO:
                return ROW_FRAMES_NOT_VIDEO
            found = _frames_metadata(metadata[FRAMES_KEY])
            if isinstance(found, str):
                return found
            frame_metadata = found
            metadata = {k: v for k, v in metadata.items() if k != FRAMES_KEY}
            keyframes = metadata.get("keyframes", [])
            if isinstance(keyframes, list):  # a frame with metadata is a frame of interest (else: validation says)
                metadata["keyframes"] = keyframes + sorted(n for n in frame_metadata if n not in keyframes)
        config = None
        if "config" in record:
            config = clean_video_config(record["config"])
            if isinstance(config, str):
                return config
        return _Spec(index, kind, str(title), str(url), metadata, frame_index=frame_index, config=config,
                     frame_metadata=frame_metadata)

    def _spec(self, row: Row) -> _Spec | str:
        if self.is_csv:
            cells = row.value
            metadata, errors = _csv_metadata(self.schema, cells, self.columns)
            if errors:
                return _reason(errors)
            record = {"objectUrl": cells["url"].strip(), "title": cells.get("title", "").strip(), "clientMetadata": metadata}
            return self._media(record, what="row", kind=ItemKind.IMAGE, index=row.index)
        section, record, _ = row.value
        kind = self.section_kinds[section]
        spec = self._media(record, what=self.section_names[section], kind=kind, index=row.index)
        if isinstance(spec, str) or kind != ItemKind.IMAGE_GROUP:
            return spec
        frames = record.get("images", [])
        if not isinstance(frames, list):
            return ROW_FRAMES_NOT_A_LIST
        for position, frame in enumerate(frames):
            if isinstance(frame, dict) and not frame.get("title") and frame.get("objectUrl"):
                frame = {**frame, "title": f"{spec.title} #{position}"}
            child = self._media(frame, what="frame", kind=ItemKind.FRAME, index=row.index, frame_index=position)
            if isinstance(child, str):
                return ROW_FRAME.format(position=position, reason=child)
            spec.frames.append(child)
        return spec

    def _validate(self, spec: _Spec) -> str | None:
        normalised, errors = validate_metadata(self.schema, spec.metadata, partial=False, item_kind=spec.kind)
        if errors:
            return _reason(errors)
        spec.metadata = normalised
        for frame in spec.frames:
            normalised, errors = validate_metadata(self.schema, frame.metadata, partial=False, item_kind=frame.kind)
            if errors:
                return ROW_FRAME.format(position=frame.frame_index, reason=_reason(errors))
            frame.metadata = normalised
        for n, metadata in spec.frame_metadata.items():
            normalised, errors = validate_metadata(self.schema, metadata, partial=False, item_kind=ItemKind.FRAME)
            if errors:
                return ROW_FRAMES_METADATA.format(frame=n, reason=_reason(errors))
            spec.frame_metadata[n] = normalised
        return None

    def prepare(self, rows: list[Row], *, write: bool) -> Prepared:
        prepared = Prepared(rows=rows)
        for row in rows:
            if row.error:
                prepared.errors.append((row.index, row.error))
                continue
            spec = self._spec(row)
            if isinstance(spec, str):
                prepared.errors.append((row.index, spec))
                continue
            error = self._validate(spec)
            if error:
                prepared.errors.append((row.index, error))
                continue
            prepared.ops.append(spec)
        return prepared

    def commit(self, prepared: Prepared, *, write: bool, change_set: ChangeSet | None) -> Outcome:
        outcome = Outcome(errors=list(prepared.errors))
        specs: list[_Spec] = prepared.ops
        if write:
            self._lock_folder()
        existing = self._existing({s.title for s in specs}, write=write)
        taken = self._taken_meanwhile(existing) if write and self._shared else set()
        good: list[_Spec] = []
        for spec in specs:
            hits = existing.get(spec.title, [])
            if hits and hits[0][0] in taken:
                outcome.errors.append((spec.index, ROW_TITLE_TAKEN_MEANWHILE.format(value=spec.title)))
            elif len(hits) > 1:
                outcome.errors.append(
                    (spec.index, ROW_AMBIGUOUS_TITLE.format(count=len(hits), value=spec.title, scope=self.scope.label))
                )
            elif hits and hits[0][1] != spec.kind:
                outcome.errors.append(
                    (spec.index, ROW_KIND_MISMATCH.format(value=spec.title, found=hits[0][1], expected=spec.kind))
                )
            else:
                good.append(spec)
        if not write:
            outcome.valid = len(good)
            outcome.errors.sort()
            return outcome
        with transaction.atomic():
            # The lookup above is still true inside the batch's transaction; each run adds what it creates.
            for run in _distinct_runs(good, key=lambda s: s.title):
                self._write_run(run, outcome, change_set=change_set, existing=existing)
            if outcome.inserted and self._writer != self._me:
                Folder.objects.filter(pk=self.scope.folder.pk).update(item_writer=self._me)
                self._writer = self._me
        outcome.errors.sort()
        return outcome

    @property
    def _me(self) -> str:
        return str(self.task.uid)

    def _lock_folder(self) -> None:
        """Titles stay unique within a folder under concurrent imports: each batch's lookup and writes run
        under the folder's row lock (PostgreSQL ``FOR NO KEY UPDATE``, which item inserts' foreign-key checks
        do not wait for; SQLite's write transactions are serial anyway), so a lookup sees every title another
        import committed. The folder remembers which import last created items in it: seeing another one,
        this import stops trusting its Bloom filter (`_existing`) and checks each found title's age."""
        if not transaction.get_connection().in_atomic_block:
            raise AssertionError("a data import batch writes in a transaction")
        self._writer = (
            Folder.objects.select_for_update(no_key=True).values_list("item_writer", flat=True)
            .get(pk=self.scope.folder.pk)
        )
        if self._writer not in ("", self._me) and not self._shared:
            self._shared = True
            self._created = False

    def _taken_meanwhile(self, existing: dict[str, list[tuple[int, str]]]) -> set[int]:
        """The found items another import created after this one started (not pre-existing, not ours)."""
        pks = [hits[0][0] for hits in existing.values() if len(hits) == 1]
        if not pks or self.task.started_at is None:
            return set()
        own = self.task.created_ranges

        def ours(pk: int) -> bool:
            return any(low <= pk <= high for low, high in own)

        recent = Item.objects.filter(pk__in=pks, created_at__gte=self.task.started_at).values_list("pk", flat=True)
        return {pk for pk in recent if not ours(pk)}

    def _existing(self, titles: set[str], *, write: bool) -> dict[str, list[tuple[int, str]]]:
        """The folder's top-level items with these titles.

        A write into a folder that had no top-level item at this process's first batch looks up only the
        titles `_created` may hold: every other one cannot be in the folder, unless someone else adds it
        there during the import (the lookup below does not lock either). A resumed import finds its own
        earlier batches' items in the folder, so it looks every title up."""
        if write:
            if self._created is None:
                folder_empty = not Item.objects.filter(folder=self.scope.folder, parent__isnull=True).exists()
                self._created = StringBloom() if folder_empty else False
            if self._created:
                titles = {t for t in titles if t in self._created}
        return self.scope.by_title(list(titles), top_level=True)

    def _write_run(
        self, specs: list[_Spec], outcome: Outcome, *, change_set: ChangeSet | None,
        existing: dict[str, list[tuple[int, str]]],
    ) -> None:
        """Create the new items of a run of distinct titles (and their frames) and update the existing ones.
        `existing` maps the titles already in the folder to their items; the run's new items are added to it."""
        new = [s for s in specs if s.title not in existing]
        old = [s for s in specs if s.title in existing]
        folder_id = self.scope.folder.pk
        workspace = self.task.workspace
        created = items_create_bulk(
            workspace=workspace, folder_id=folder_id,
            items=[NewItem(s.title, s.kind, s.url, s.metadata) for s in new],
        )
        outcome.created_ids.extend(created)
        outcome.inserted += len(created)
        outcome.valid += len(specs)
        frames: list[NewItem] = []
        if self._created:
            self._created.update(s.title for s in new)
        videos: dict[int, dict | None] = {}  # new or configured videos -> their config given (None: none)
        for spec, pk in zip(new, created, strict=True):
            existing[spec.title] = [(pk, spec.kind)]
            frames.extend(self._frame_item(pk, f) for f in spec.frames)
            if spec.kind == ItemKind.VIDEO:
                videos[pk] = spec.config
        updates: dict[int, dict] = {}
        index_of: dict[int, int] = {}
        if old:
            old_pk = {s.title: existing[s.title][0][0] for s in old}
            present = {
                (parent, idx): pk
                for parent, idx, pk in Item.objects.filter(parent_id__in=old_pk.values()).values_list(
                    "parent_id", "frame_index", "pk"
                )
            }
            for spec in old:
                pk = old_pk[spec.title]
                updates[pk] = spec.metadata
                index_of[pk] = spec.index
                if spec.config is not None:
                    videos[pk] = spec.config
                for frame in spec.frames:
                    frame_pk = present.get((pk, frame.frame_index))
                    if frame_pk is None:
                        frames.append(self._frame_item(pk, frame))
                    else:
                        updates[frame_pk] = frame.metadata
                        index_of[frame_pk] = spec.index
        if frames:
            outcome.created_ids.extend(items_create_bulk(workspace=workspace, folder_id=folder_id, items=frames))
        if updates:
            result = item_metadata_write(
                workspace=workspace, user=self.user, updates=updates, mode=self.task.mode,
                source="import", change_set=change_set,
            )
            changed_rows = {index_of[row["item"]] for row in result.rows if row["status"] == STATUS_CHANGED}
            outcome.updated += len(changed_rows)
            outcome.unchanged += len(old) - len(changed_rows & {s.index for s in old})
        if videos:
            self._video_configs(videos)
        self._frames_metadata([(existing[s.title][0][0], s.frame_metadata) for s in specs if s.frame_metadata],
                              change_set=change_set)

    def _frames_metadata(self, videos: list[tuple[int, dict[int, dict]]], *, change_set: ChangeSet | None) -> None:
        """Write the videos' `$frames` metadata (merged) to their frame items, which exist by now: each frame of
        `$frames` was made a keyframe. Embedding values go to their own table like any metadata write's."""
        if not videos:
            return
        wanted = {pk: frames for pk, frames in videos}
        updates = {
            frame_pk: wanted[parent][index]
            for parent, index, frame_pk in Item.objects.filter(
                workspace=self.task.workspace, parent_id__in=list(wanted)
            ).values_list("parent_id", "frame_index", "pk")
            if index in wanted[parent]
        }
        if updates:
            item_metadata_write(workspace=self.task.workspace, user=self.user, updates=updates, mode=MODE_MERGE,
                                source="import", change_set=change_set, validated=True)

    def _video_configs(self, videos: dict[int, dict | None]) -> None:
        """Store the videos' import configs and create their keyframe items (see `video_keyframes_sync`)."""
        by_config: dict[str, list[int]] = {}
        for pk, config in videos.items():
            if config is not None:
                by_config.setdefault(json.dumps(config, sort_keys=True), []).append(pk)
        for text, pks in by_config.items():
            Item.objects.filter(workspace=self.task.workspace, pk__in=pks).update(video_config=json.loads(text))
        video_keyframes_sync(workspace=self.task.workspace, item_ids=list(videos))

    def _frame_item(self, parent_pk: int, frame: _Spec) -> NewItem:
        return NewItem(frame.title, ItemKind.FRAME, frame.url, frame.metadata, parent_pk, frame.frame_index)


KINDS: dict[str, type[Kind]] = {
    ImportKind.METADATA_ROWS: MetadataRows,
    ImportKind.FIELD_VALUES: FieldValues,
    ImportKind.DATA: DataImport,
}

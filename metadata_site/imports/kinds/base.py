"""What every import kind shares: the file and row error messages, the reading of cells and URLs, the scope
of a task (its folder or dataset), a batch's outcome, and `Kind`, the base the kinds build on (no kind of its own).
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

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from metadata_site.items.models import ChangeSet, Item, ItemKind
from metadata_site.items.services import (
    STATUS_CHANGED,
    STATUS_FAILED,
    item_metadata_write,
)
from metadata_site.lib.jsondiff import as_json
from metadata_site.projects.models import Dataset, Folder
from metadata_site.schemas.fields import FieldSpec, Schema
from metadata_site.schemas.validation import (
    FieldValueError,
    text_problem,
    validate_metadata,
)
from metadata_site.schemas.values import CSV_SEPARATOR, parse_text

from ..models import ImportMode, ImportTask
from ..parsers import Row, json_type_name

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


def is_http_url(url: str) -> bool:
    if _PLAIN_HTTP_URL.match(url):
        return True
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def url_name(url: str) -> str:
    try:
        return PurePosixPath(urlsplit(url).path).name
    except ValueError:
        return ""


QUOTED_VALUE_MAX = 80


def quote_value(value: Any, limit: int = QUOTED_VALUE_MAX) -> str:
    """A value as JSON text for an error message, cut to `limit` characters."""
    text = as_json(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason_text(errors: list[dict]) -> str:
    """The reasons of a row's errors, each quoting the value it refused."""
    parts = []
    for e in errors:
        text = f"{e['key']}: {e['msg']}" if e.get("key") else e["msg"]
        if "value" in e:
            text += f" Got {quote_value(e['value'])}."
        parts.append(text)
    return "; ".join(parts)


def csv_cell(spec: FieldSpec, text: str) -> Any:
    """A CSV cell as the typed value the validator expects (`schemas.values.parse_text`, options separated by
    ``|``); None when it holds no value. Raises FieldValueError for text that is not a value of the type."""
    return parse_text(spec, text, separator=CSV_SEPARATOR)


def frames_metadata(raw: Any) -> dict[int, dict] | str:
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


def csv_metadata(schema: Schema, cells: dict[str, str], columns: Iterable[str]) -> tuple[dict, list[dict]]:
    """Typed metadata from the field columns of a CSV row; an empty cell sets nothing."""
    metadata: dict = {}
    errors: list[dict] = []
    for column in columns:
        text = cells[column]
        if not text.strip():
            continue
        spec = schema.get(column)
        try:
            value = csv_cell(spec, text)
        except FieldValueError as exc:
            errors.append({"key": column, "msg": exc.message, "value": text})
            continue
        if value is not None:  # e.g. "|": no option, like an empty cell
            metadata[column] = value
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
class Op:
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
    def _parse_key(self, record: dict, op: Op) -> str | None:
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

    def _resolve(self, ops: list[Op], outcome: Outcome) -> list[Op]:
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
        self, ops: list[Op], outcome: Outcome, *, write: bool, change_set: ChangeSet | None, validated: bool = False
    ) -> None:
        if not write:
            for op in ops:
                _, errors = validate_metadata(self.schema, op.metadata, partial=self.partial, item_kind=op.item_kind)
                if errors:
                    outcome.errors.append((op.index, reason_text(errors)))
                else:
                    outcome.valid += 1
            return
        # One write per run of distinct items, so a file naming an item twice applies both rows in order.
        for group in distinct_runs(ops, key=lambda op: op.item):
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
                    outcome.errors.append((op.index, reason_text(row["errors"])))
                elif row["status"] == STATUS_CHANGED:
                    outcome.valid += 1
                    outcome.updated += 1
                else:
                    outcome.valid += 1
                    outcome.unchanged += 1


def distinct_runs(ops: list, *, key) -> Iterable[list]:
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

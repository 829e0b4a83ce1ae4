"""Export items with their metadata as JSON, JSONL or CSV, streamed.

A row is ``{"media_id", "title", "url", "kind", "metadata"}``: the shape the metadata-rows import
accepts back. CSV has the columns media_id, title, url, kind and one per declared field (multi-enum
cells ``a|b|c``); undeclared keys are in JSON and JSONL only. Small exports stream straight to the
browser; large ones run as a background task with progress and a file to download.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from metadata_site.explorer import query as fl
from metadata_site.items.selection import filter_selection
from metadata_site.lib.background import queue_work
from metadata_site.lib.csvescape import escape_cell
from metadata_site.lib.errors import MessageError
from metadata_site.schemas.fields import FieldType, Schema
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace

from .models import ImportKind, ImportStatus, ImportTask

EXPORT_FORMATS = ("json", "jsonl", "csv")
EXPORT_INLINE_MAX_ITEMS = 20_000
EXPORT_CHUNK_ROWS = 2_000
CONTENT_TYPES = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}

EXPORT_UNKNOWN_FORMAT = "Unknown export format {fmt!r}: use json, jsonl or csv."


class _Cancelled(Exception):
    pass


class ExportError(MessageError):
    """An export cannot be made; `message` says why."""


def export_queryset(*, workspace: Workspace, params: Mapping[str, Any]) -> QuerySet:
    """The items an export covers, chosen exactly as the explorer chooses them: ``scope=folder:<id>``
    (with its subfolders), ``dataset:<id>``, ``collection:<id>`` or the workspace, narrowed by its
    ``f=``/``any=`` filters (a QueryDict or a dict of lists). Ordered by id, so a stream is stable."""
    schema = schema_current(workspace=workspace)
    try:
        query = fl.parse_query_string(filter_selection(params).query_dict(), schema=schema)
        return fl.items_matching(query, schema=schema, workspace=workspace).order_by("id")
    except fl.FilterError as exc:
        raise ExportError(exc.message) from None


def export_name(params: Mapping[str, Any], fmt: str) -> str:
    scope = params.get("scope") or "workspace"
    scope = (scope[-1] if isinstance(scope, list) else scope).replace(":", "-")
    return f"export-{scope}-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"


def _csv_cell(spec_type: str, is_multi: bool, value) -> str:
    if value is None:
        return ""
    if is_multi and isinstance(value, list):
        return "|".join(str(v) for v in value)
    if spec_type == FieldType.BOOLEAN and isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def export_chunks(
    *, queryset: QuerySet, fmt: str, schema: Schema, on_rows: Callable[[int], None] | None = None
) -> Iterator[str]:
    """The export as text chunks of about EXPORT_CHUNK_ROWS rows each (memory stays bounded)."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(EXPORT_UNKNOWN_FORMAT.format(fmt=fmt))
    rows = queryset.values_list("uid", "title", "media_url", "kind", "client_metadata").iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    )
    specs = list(schema)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    buffer = io.StringIO()
    writer = csv.writer(buffer) if fmt == "csv" else None
    if fmt == "json":
        buffer.write("[")
    elif writer:
        writer.writerow([escape_cell(c) for c in ["media_id", "title", "url", "kind", *(s.name for s in specs)]])
    count = 0
    for uid, title, url, kind, metadata in rows:
        if writer:
            metadata = metadata or {}
            cells = [str(uid), title, url, kind, *(_csv_cell(s.type, s.is_multi, metadata.get(s.name)) for s in specs)]
            writer.writerow([escape_cell(c) for c in cells])
        else:
            text = dumps({"media_id": str(uid), "title": title, "url": url, "kind": kind, "metadata": metadata or {}})
            if fmt == "json":
                buffer.write(",\n" if count else "\n")
                buffer.write(text)
            else:
                buffer.write(text)
                buffer.write("\n")
        count += 1
        if count % EXPORT_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if on_rows:
                on_rows(count)
    if fmt == "json":
        buffer.write("\n]\n" if count else "]\n")
    yield buffer.getvalue()
    if on_rows:
        on_rows(count)


# --- background exports ------------------------------------------------------------------------------


def export_task_create(*, workspace: Workspace, user, params: Mapping[str, list[str]], fmt: str) -> ImportTask:
    """A background export of the items `params` select (checked now), queued for the worker."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(EXPORT_UNKNOWN_FORMAT.format(fmt=fmt))
    params = {k: list(v) for k, v in params.items()}
    export_queryset(workspace=workspace, params=params)
    task = ImportTask.objects.create(
        workspace=workspace,
        kind=ImportKind.EXPORT,
        target={"params": params},
        format=fmt,
        dry_run=False,
        status=ImportStatus.RUNNING,
        file_name=export_name(params, fmt),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    queue_work(task)
    task.refresh_from_db()
    return task


def export_file_path(task: ImportTask) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(task.uid) / task.file_name


def export_task_run(*, task_id: int, on_progress: Callable[[ImportTask], None] | None = None) -> str:
    """Write the export file, reporting progress; a rerun after a crash starts the file again."""
    task = ImportTask.objects.select_related("workspace").get(pk=task_id)
    if task.is_finished:
        return task.status
    params = task.target.get("params", {})
    try:
        queryset = export_queryset(workspace=task.workspace, params=params)
    except ExportError as exc:
        ImportTask.objects.filter(pk=task.pk).update(
            status=ImportStatus.FAILED, failure_reason=exc.message, finished_at=timezone.now()
        )
        return ImportStatus.FAILED
    total = queryset.count()
    ImportTask.objects.filter(pk=task.pk).update(total=total, started_at=timezone.now(), progress=0)
    path = export_file_path(task)
    path.parent.mkdir(parents=True, exist_ok=True)

    def on_rows(count: int) -> None:
        if ImportTask.objects.filter(pk=task.pk, cancel_requested=True).exists():
            raise _Cancelled
        ImportTask.objects.filter(pk=task.pk).update(
            done=count, progress=min(99.9, round(100 * count / (total or 1), 1)), heartbeat_at=timezone.now()
        )
        if on_progress:
            task.refresh_from_db()
            on_progress(task)

    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            for chunk in export_chunks(
                queryset=queryset, fmt=task.format, schema=schema_current(workspace=task.workspace), on_rows=on_rows
            ):
                out.write(chunk)
    except _Cancelled:
        path.unlink(missing_ok=True)
        ImportTask.objects.filter(pk=task.pk).update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
        return ImportStatus.CANCELLED
    size = path.stat().st_size
    ImportTask.objects.filter(pk=task.pk).update(
        status=ImportStatus.COMPLETED, progress=100, file_size=size, finished_at=timezone.now(),
        file_path=str(path.relative_to(settings.MEDIA_ROOT)),
    )
    return ImportStatus.COMPLETED

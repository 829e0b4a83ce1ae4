"""The import pipeline: create a task, store its file, check it (dry run), apply it in batches.

    import_task_create → import_task_upload (file streamed to MEDIA_ROOT/imports/<uid>/)
      → worker: import_task_run: VALIDATING (every row checked, nothing written) → VALIDATED
      → import_task_apply(policy) → worker: RUNNING in batches → COMPLETED / COMPLETED_WITH_ERRORS

A task created with `dry_run=False` and a policy goes straight on from the check to the apply (the
API and the command line). Before anything is written the whole file is always read once, so a file
that turns out to be broken (invalid JSON at the end, a bad encoding) fails the task and changes
nothing. Each batch is one transaction that also stores the task's restart offset, counters, sample
errors and error report length, so a worker killed mid-import and started again continues after the
last committed batch: no row applied twice, none lost. The whole import is one change set. While the
database writes a batch, a read-ahead thread reads and checks the next one (`lib.pipeline`).

Why this module is about 680 lines: it has two halves, the requests about a task (create, upload, apply, cancel,
undo, resume) and the worker's run (the check and apply passes, batches, the error report, index upkeep), which share
the task's state transitions and the batch transaction; the natural split is the second half into a module of its own
below this one. It was left whole while the task model was reworked (one shape for every kind of background task),
which changed both halves; that rework has landed and the split is the next step. The kinds of rows (`kinds`) and the
file parsers (`parsers`) already live apart.
"""

import csv
import io
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.db.models import F
from django.utils import timezone

from metadata_site.explorer import indexes as explorer_indexes
from metadata_site.explorer.builds import index_build_queue
from metadata_site.explorer.tasks import maintain_projection
from metadata_site.items.embeddings import vectors_deleting
from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import CHANGE_SET_ALREADY_UNDONE, ChangeSetError, change_set_undo
from metadata_site.lib.background import queue_work
from metadata_site.lib.errors import MessageError
from metadata_site.lib.gctune import bulk_gc
from metadata_site.lib.maintenance import analyze_if_stale
from metadata_site.lib.pipeline import read_ahead
from metadata_site.projects.models import Dataset, DatasetStatus, Folder
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace

from .kinds import KINDS, Kind, Outcome, Prepared, Scope, quote_value
from .models import ApplyPolicy, ImportKind, ImportMode, ImportStatus, ImportTask
from .parsers import ImportFileError, Reader, Row, format_for

SAMPLE_ERRORS = 100
ERROR_REPORT_ROW_MAX = 2000
# The share of the progress bar the check takes when a task checks and applies in one go.
CHECK_SHARE_FULL = 50.0
CHECK_SHARE_SCAN = 10.0
UNDO_DELETE_SLICE = 5_000
BATCH_ROWS = {"postgresql": 10_000, "sqlite": 5_000}
ANALYZE_EVERY_BATCHES = 50

IMPORT_FILE_TOO_LARGE = "The file is larger than the limit of {limit} bytes."
IMPORT_NO_FILE = "Choose a file to upload."
IMPORT_ALREADY_UPLOADED = "This task already has its file."
IMPORT_DATASET_IMPORTING = "The dataset {name!r} is being imported; wait until it is ready before importing into it."
IMPORT_NO_FOLDER = "No folder {id} in this workspace."
IMPORT_NO_DATASET = "No dataset {id} in this workspace."
IMPORT_DATA_NEEDS_FOLDER = "A data import creates items in a folder: choose one."
IMPORT_NO_FIELD = "No field named {name!r} is declared in the schema."
IMPORT_FIELD_REQUIRED = "Choose the field the values are for."
IMPORT_UNKNOWN_KIND = "Unknown import kind {kind!r}."
IMPORT_UNKNOWN_MODE = "Unknown mode {mode!r}: use merge or overwrite."
IMPORT_UNKNOWN_POLICY = "Unknown apply policy {policy!r}."
IMPORT_NOT_VALIDATED = "Only a checked task that is waiting to be applied can be applied."
IMPORT_HAS_ERRORS = "{count} rows have errors, so nothing was applied (policy: apply only if there are no errors)."
IMPORT_NOT_CANCELLABLE = "Only a task that has not finished can be cancelled."
IMPORT_CANCELLED = "Cancelled by {user}."
IMPORT_NOT_UNDOABLE = "Only an applied import can be undone."
IMPORT_ALREADY_UNDONE = "This import was already undone."
IMPORT_NOT_RESUMABLE = "Only a running task can be resumed."
IMPORT_CRASHED = "The import stopped unexpectedly: {error}"


class ImportTaskError(MessageError):
    """A request about a task that cannot be done (bad target, wrong state); `message` says why."""


class _Superseded(Exception):
    """Another run of the same task committed first; this run stops without writing."""


class _Cancelled(Exception):
    pass


# --- paths -------------------------------------------------------------------------------------------


def task_dir(task: ImportTask) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(task.uid)


def task_file(task: ImportTask) -> Path:
    return Path(settings.MEDIA_ROOT) / task.file_path


def error_report_path(task: ImportTask) -> Path:
    return task_dir(task) / "errors.csv"


# --- creating and starting tasks ----------------------------------------------------------------------


def _resolve_target(*, workspace: Workspace, kind: str, target: dict) -> dict:
    clean: dict = {}
    folder_id = target.get("folder")
    dataset_id = target.get("dataset")
    if folder_id not in (None, ""):
        folder = Folder.objects.filter(workspace=workspace, pk=_int(folder_id)).first()
        if folder is None:
            raise ImportTaskError(IMPORT_NO_FOLDER.format(id=folder_id))
        clean["folder"] = folder.pk
    elif dataset_id not in (None, ""):
        dataset = Dataset.objects.filter(workspace=workspace, pk=_int(dataset_id)).first()
        if dataset is None:
            raise ImportTaskError(IMPORT_NO_DATASET.format(id=dataset_id))
        _check_dataset_ready(dataset)
        clean["dataset"] = dataset.pk
    if target.get("match") in ("media_id", "title"):
        clean["match"] = target["match"]
    if kind == ImportKind.DATA and "folder" not in clean:
        raise ImportTaskError(IMPORT_DATA_NEEDS_FOLDER)
    if kind == ImportKind.FIELD_VALUES:
        name = (target.get("field") or "").strip()
        if not name:
            raise ImportTaskError(IMPORT_FIELD_REQUIRED)
        if schema_current(workspace=workspace).get(name) is None:
            raise ImportTaskError(IMPORT_NO_FIELD.format(name=name))
        clean["field"] = name
    return clean


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _check_dataset_ready(dataset: Dataset) -> None:
    if dataset.status == DatasetStatus.IMPORTING:
        raise ImportTaskError(IMPORT_DATASET_IMPORTING.format(name=dataset.name))


def import_task_create(
    *,
    workspace: Workspace,
    user,
    kind: str,
    target: dict | None = None,
    mode: str = ImportMode.MERGE,
    dry_run: bool = True,
    policy: str = "",
) -> ImportTask:
    """A new task waiting for its file (status INIT). `target` names a folder or dataset (and, for
    field values, the field); `dry_run=False` with a `policy` applies as soon as the file checks out."""
    if kind not in KINDS:
        raise ImportTaskError(IMPORT_UNKNOWN_KIND.format(kind=kind))
    if mode not in ImportMode.values:
        raise ImportTaskError(IMPORT_UNKNOWN_MODE.format(mode=mode))
    if policy and policy not in ApplyPolicy.values:
        raise ImportTaskError(IMPORT_UNKNOWN_POLICY.format(policy=policy))
    clean = _resolve_target(workspace=workspace, kind=kind, target=target or {})
    return ImportTask.objects.create(
        workspace=workspace,
        kind=kind,
        target=clean,
        mode=mode,
        dry_run=dry_run,
        policy="" if dry_run else (policy or ApplyPolicy.SKIP_BAD_ROWS),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def import_task_upload(
    *, task: ImportTask, name: str, chunks: Iterable[bytes], file_format: str | None = None, enqueue: bool = True
) -> ImportTask:
    """Stream the file to disk (refusing it past `IMPORT_MAX_UPLOAD_BYTES`) and queue the task for the
    worker (`enqueue=False`: the caller runs `import_task_run` itself, as the command line does).

    A task takes one file: each upload streams to a file of its own, and INIT → VALIDATING happens once, under
    the task's row lock, where the winner's file takes the task's name. Any other upload (concurrent or later)
    raises IMPORT_ALREADY_UPLOADED and its file is deleted, so nothing of it is kept."""
    if task.status != ImportStatus.INIT or task.file_path:
        raise ImportTaskError(IMPORT_ALREADY_UPLOADED)
    try:
        fmt = format_for(name, file_format)
    except ImportFileError as exc:
        raise ImportTaskError(exc.reason) from None
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    directory = task_dir(task)
    directory.mkdir(parents=True, exist_ok=True)
    safe_name = Path(name).name or f"upload.{fmt}"
    path = directory / f"upload.{fmt}"
    part = directory / f"upload.{uuid.uuid4().hex}.part"
    size = 0
    try:
        with part.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ImportTaskError(IMPORT_FILE_TOO_LARGE.format(limit=limit))
                out.write(chunk)
        with transaction.atomic():
            locked = ImportTask.objects.select_for_update().get(pk=task.pk)
            if locked.status != ImportStatus.INIT or locked.file_path:
                raise ImportTaskError(IMPORT_ALREADY_UPLOADED)
            part.replace(path)
            locked.file_name = safe_name[:500]
            locked.file_size = size
            locked.format = fmt
            locked.file_path = str(path.relative_to(settings.MEDIA_ROOT))
            locked.status = ImportStatus.VALIDATING
            locked.save(update_fields=["file_name", "file_size", "format", "file_path", "status"])
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    for field in ("file_name", "file_size", "format", "file_path", "status"):
        setattr(task, field, getattr(locked, field))
    if enqueue:
        queue_work(task)
    return task


def import_task_upload_path(
    *, task: ImportTask, path: str | Path, file_format: str | None = None, enqueue: bool = True
) -> ImportTask:
    """Like import_task_upload, from a file on the server (the command line)."""
    path = Path(path)

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk

    return import_task_upload(task=task, name=path.name, chunks=chunks(), file_format=file_format, enqueue=enqueue)


def import_task_apply(*, task: ImportTask, user, policy: str) -> ImportTask:
    """Apply a checked task: skipping its bad rows, or only if it has none."""
    if policy not in ApplyPolicy.values:
        raise ImportTaskError(IMPORT_UNKNOWN_POLICY.format(policy=policy))
    with transaction.atomic():
        locked = ImportTask.objects.select_for_update().get(pk=task.pk)
        if locked.status != ImportStatus.VALIDATED:
            raise ImportTaskError(IMPORT_NOT_VALIDATED)
        if policy == ApplyPolicy.ONLY_IF_NO_ERRORS and locked.error_count:
            raise ImportTaskError(IMPORT_HAS_ERRORS.format(count=locked.error_count))
        _check_target_ready(locked)
        locked.policy = policy
        locked.dry_run = False
        locked.status = ImportStatus.RUNNING
        locked.progress = 0
        locked.progress_base = 0
        locked.save(update_fields=["policy", "dry_run", "status", "progress", "progress_base"])
    queue_work(locked)
    task.refresh_from_db()
    return task


def _check_target_ready(task: ImportTask) -> None:
    if "dataset" in task.target:
        dataset = Dataset.objects.filter(pk=task.target["dataset"]).first()
        if dataset is not None:
            _check_dataset_ready(dataset)


def import_task_cancel(*, task: ImportTask, user) -> ImportTask:
    """Stop a task: at once if it waits, after its current batch if it runs (applied batches stay,
    and can be undone)."""
    with transaction.atomic():
        locked = ImportTask.objects.select_for_update().get(pk=task.pk)
        if locked.is_finished:
            raise ImportTaskError(IMPORT_NOT_CANCELLABLE)
        if locked.status in (ImportStatus.INIT, ImportStatus.VALIDATED):
            _finish(locked, ImportStatus.CANCELLED, reason=IMPORT_CANCELLED.format(user=user))
        else:
            locked.cancel_requested = True
            locked.failure_reason = IMPORT_CANCELLED.format(user=user)
            locked.save(update_fields=["cancel_requested", "failure_reason"])
    task.refresh_from_db()
    return task


def import_task_undo(*, task: ImportTask, user) -> ImportTask:
    """Undo an applied import: its metadata changes (the change set) and the items it created. Items whose
    metadata changed again since are left alone (`task.undo_conflicts`), and then the task is not marked
    undone: its Undo stays available, as its change set's does."""
    if task.undone_at is not None:
        raise ImportTaskError(IMPORT_ALREADY_UNDONE)
    if task.change_set_id is None and not task.created_ranges:
        raise ImportTaskError(IMPORT_NOT_UNDOABLE)
    with transaction.atomic():
        locked = ImportTask.objects.select_for_update().get(pk=task.pk)
        if locked.undone_at is not None:
            raise ImportTaskError(IMPORT_ALREADY_UNDONE)
        conflicts: list[dict] = []
        if locked.change_set_id is not None:
            try:
                conflicts = change_set_undo(change_set=locked.change_set, user=user).conflicts
            except ChangeSetError as exc:
                if exc.message != CHANGE_SET_ALREADY_UNDONE:
                    raise ImportTaskError(exc.message) from None
        for low, high in locked.created_ranges:
            # In slices, so the deletion collector never holds a million items at once.
            for start in range(low, high + 1, UNDO_DELETE_SLICE):
                created = Item.objects.filter(
                    workspace_id=locked.workspace_id,
                    folder_id=locked.target.get("folder"),
                    pk__gte=start,
                    pk__lte=min(high, start + UNDO_DELETE_SLICE - 1),
                )
                vectors_deleting(workspace_id=locked.workspace_id, items=created)
                created.delete()
        if not conflicts:
            locked.undone_at = timezone.now()
            locked.save(update_fields=["undone_at"])
    task.refresh_from_db()
    task.undo_conflicts = conflicts
    return task


def import_task_resume(*, task: ImportTask) -> ImportTask:
    """Queue a task again whose worker died; it continues from its last committed batch."""
    if task.status not in (ImportStatus.VALIDATING, ImportStatus.RUNNING):
        raise ImportTaskError(IMPORT_NOT_RESUMABLE)
    queue_work(task)
    return task


# --- running (the worker) ------------------------------------------------------------------------------


@dataclass
class _Run:
    task: ImportTask
    kind: Kind
    reader: Reader
    on_progress: Callable[[ImportTask], None] | None = None


def _kind_for(task: ImportTask) -> Kind:
    workspace = task.workspace
    scope = Scope(task=task)
    if "folder" in task.target:
        scope.folder = Folder.objects.get(workspace=workspace, pk=task.target["folder"])
    elif "dataset" in task.target:
        scope.dataset = Dataset.objects.get(workspace=workspace, pk=task.target["dataset"])
    kind = KINDS[task.kind](task=task, schema=schema_current(workspace=workspace), scope=scope, user=task.created_by)
    if task.kind == ImportKind.FIELD_VALUES and kind.spec is None:
        raise ImportFileError(IMPORT_NO_FIELD.format(name=task.target.get("field")))
    return kind


def import_task_run(*, task_id: int, on_progress: Callable[[ImportTask], None] | None = None) -> str:
    """The worker's body: check and/or apply the task's file, resuming where a previous run stopped."""
    with bulk_gc():
        return _import_task_run(task_id=task_id, on_progress=on_progress)


def _import_task_run(*, task_id: int, on_progress: Callable[[ImportTask], None] | None) -> str:
    task = ImportTask.objects.select_related("workspace", "created_by").get(pk=task_id)
    if task.kind == ImportKind.MEDIA:
        # The worker's `run_import` sends a media task to media_import_run (which builds on this module).
        raise ImportTaskError(f"Import task {task.pk} is a media import: media_import_run runs it")
    if task.is_finished or task.status in (ImportStatus.INIT, ImportStatus.VALIDATED):
        return task.status
    try:
        if "dataset" in task.target and task.status == ImportStatus.VALIDATING:
            dataset = Dataset.objects.filter(pk=task.target["dataset"]).first()
            if dataset is not None and dataset.status == DatasetStatus.IMPORTING:
                raise ImportFileError(IMPORT_DATASET_IMPORTING.format(name=dataset.name))
        kind = _kind_for(task)
        run = _Run(task=task, kind=kind, reader=Reader(task_file(task), task.format, size=task.file_size),
                   on_progress=on_progress)
        # Each pass looks items up in batches: plans from stale statistics scanned the whole workspace.
        analyze_if_stale(Item)
        if task.status == ImportStatus.VALIDATING:
            _check_pass(run)
            if task.dry_run:
                _set(task, status=ImportStatus.VALIDATED, progress=100)
                return task.status
            if task.policy == ApplyPolicy.ONLY_IF_NO_ERRORS and task.error_count:
                _finish(task, ImportStatus.FAILED, reason=IMPORT_HAS_ERRORS.format(count=task.error_count))
                return task.status
            base = CHECK_SHARE_FULL if task.policy == ApplyPolicy.ONLY_IF_NO_ERRORS else CHECK_SHARE_SCAN
            _set(task, status=ImportStatus.RUNNING, progress=base, progress_base=base)
        run.reader = Reader(task_file(task), task.format, size=task.file_size)
        run.kind = _kind_for(task)
        _apply_pass(run)
    except ImportFileError as exc:
        _finish(task, ImportStatus.FAILED, reason=exc.reason)
    except _Cancelled:
        task.refresh_from_db()
        _finish(task, ImportStatus.CANCELLED, reason=task.failure_reason)
    except _Superseded:
        pass
    except Exception as exc:
        # A bug or a lost database: the task says so instead of looking stuck. Committed batches stay
        # (undo removes them); a killed worker raises nothing here and is resumed instead.
        _finish(task, ImportStatus.FAILED, reason=IMPORT_CRASHED.format(error=exc))
        raise
    return task.status


def _set(task: ImportTask, **values) -> None:
    for name, value in values.items():
        setattr(task, name, value)
    values["heartbeat_at"] = timezone.now()
    ImportTask.objects.filter(pk=task.pk).update(**values)


def _finish(task: ImportTask, status: str, *, reason: str = "") -> None:
    values = {"status": status, "finished_at": timezone.now(), "failure_reason": reason or task.failure_reason}
    if status in (ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS, ImportStatus.VALIDATED):
        values["progress"] = 100
    _set(task, **values)


def _rows(run: _Run, *, scan: bool = False) -> Iterator[Row]:
    read = run.reader.scan if scan else run.reader.rows
    rows = read(json_shapes=run.kind.json_shapes, sections=run.kind.sections)
    if run.reader.format == "csv":
        first = next(rows, None)
        run.kind.check_columns(run.reader.columns)
        if first is not None:
            yield first
    yield from rows


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _batch_size() -> int:
    return BATCH_ROWS.get(connection.vendor, 5_000)


def _progress(run: _Run, *, start: float = 0.0, share: float = 100.0, bytes_read: int | None = None) -> float:
    size = run.reader.size or 1
    done = run.reader.bytes_read if bytes_read is None else bytes_read
    return min(99.9, round(start + share * done / size, 1))


class _ErrorReport:
    """The full error report, a CSV file of `row_index,reason,row` next to the upload (`row`: the row's values
    as JSON, cut to ERROR_REPORT_ROW_MAX characters). Lines are written before the batch's transaction commits
    and the committed length is stored with the batch, so a restart cuts off the lines of a batch that never
    committed."""

    def __init__(self, task: ImportTask, *, keep_bytes: int):
        self.path = error_report_path(task)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mode = "r+b" if keep_bytes and self.path.exists() else "wb"
        self.file = self.path.open(mode)
        self.file.truncate(keep_bytes if mode == "r+b" else 0)
        self.file.seek(0, os.SEEK_END)
        if self.file.tell() == 0:
            self.file.write(b"row_index,reason,row\r\n")

    def write(self, errors: list[tuple[int, str]], rows: list[Row] | None = None) -> int:
        """Append `errors` (row index, reason), each with the values of its row among `rows` when given."""
        if errors:
            values = {row.index: row.value for row in rows or ()}
            text = io.StringIO()
            csv.writer(text).writerows(
                (index, reason, quote_value(values.get(index), ERROR_REPORT_ROW_MAX)) for index, reason in errors
            )
            # A refused row may hold a lone surrogate: the report writes it as its escape (\\ud800), not a crash.
            self.file.write(text.getvalue().encode("utf-8", "backslashreplace"))
            self.file.flush()
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


def _samples(current: list, errors: list[tuple[int, str]]) -> list:
    room = SAMPLE_ERRORS - len(current)
    if room <= 0:
        return current
    return current + [{"reason": reason, "row_index": index} for index, reason in errors[:room]]


def _check_pass(run: _Run) -> None:
    """Read the whole file and check every row without writing (VALIDATING). For an apply that skips
    bad rows without a dry run, only the file itself is checked, so the apply pass reports the rows."""
    task = run.task
    full = task.dry_run or task.policy == ApplyPolicy.ONLY_IF_NO_ERRORS
    share = 100.0 if task.dry_run else CHECK_SHARE_FULL if full else CHECK_SHARE_SCAN
    _set(task, started_at=task.started_at or timezone.now(), total=0, valid_rows=0, error_count=0,
         sample_errors=[], progress=0)
    report = _ErrorReport(task, keep_bytes=0) if full else None
    total = valid = errors = 0
    samples: list = []
    if not full and run.reader.format == "jsonl":
        # Only the file: decoded to its end and its lines counted (a bad line is that row's error later).
        for total in run.reader.scan_lines(every=_batch_size()):
            _check_cancel(task)
            _set(task, total=total, progress=_progress(run, share=share))
            if run.on_progress:
                run.on_progress(task)
        _set(task, total=total, valid_rows=0, error_count=0)
        return
    try:
        for batch in _batches(_rows(run, scan=not full), _batch_size()):
            total += len(batch)
            if full:
                outcome = run.kind.run_batch(batch, write=False, change_set=None)
                valid += outcome.valid
                errors += len(outcome.errors)
                samples = _samples(samples, outcome.errors)
                size = report.write(outcome.errors, batch)
            else:
                size = 0
            _check_cancel(task)
            reset_queries()
            _set(task, total=total, valid_rows=valid, error_count=errors, sample_errors=samples,
                 error_report_bytes=size, progress=_progress(run, share=share))
            if run.on_progress:
                run.on_progress(task)
    finally:
        if report:
            report.close()
    _set(task, total=total, valid_rows=valid if full else 0, error_count=errors)


def _check_cancel(task: ImportTask) -> None:
    if ImportTask.objects.filter(pk=task.pk, cancel_requested=True).exists():
        raise _Cancelled


def _apply_pass(run: _Run) -> None:
    task = run.task
    task.refresh_from_db()
    if task.committed_offset == 0:
        _set(task, inserted_rows=0, updated_rows=0, unchanged_rows=0, error_count=0, sample_errors=[],
             error_report_bytes=0, created_ranges=[], started_at=task.started_at or timezone.now())
    if task.change_set_id is None:
        with transaction.atomic():
            change_set = ChangeSet.objects.create(
                workspace_id=task.workspace_id, user=task.created_by, operation="import", source="import",
                description=f"{task.get_kind_display()}: {task.file_name}",
            )
            _set(task, change_set=change_set)
    resumed = task.committed_offset > 0
    suspended = _suspend_indexes(task)
    report = _ErrorReport(task, keep_bytes=task.error_report_bytes)
    batches = _prepared(run, offset=task.committed_offset)
    # Every kind is read ahead (a data import of 1,000,000 items: 49.6 s instead of 55.5, both under a profiler),
    # but not on SQLite: its writes run in this process and let go of the interpreter lock at every row, which
    # the read-ahead thread then holds for up to a switch interval (100,000 metadata rows: 3.6 s with it,
    # 3.4 s without, in back-to-back runs).
    if connection.vendor != "sqlite":
        batches = read_ahead(batches)
    try:
        for number, prepared in enumerate(batches, start=1):
            _check_cancel(task)
            _apply_batch(run, prepared, report)
            if run.kind.adds_items and number % ANALYZE_EVERY_BATCHES == 0:
                # A long data import grows the table: its title lookups should not be planned from statistics that
                # no longer hold (see lib.maintenance; an ANALYZE takes about 0.3 s here). Metadata writes change no
                # column a lookup filters on; the VACUUM (ANALYZE) after the import renews the explorer's statistics.
                analyze_if_stale(Item)
    finally:
        batches.close()
        report.close()
        # Also when the import stops early (cancelled, failed) or was resumed after a crash that left the
        # indexes dropped.
        rebuilding = (suspended or resumed) and _rebuild_indexes(task)
    task.refresh_from_db()
    status = ImportStatus.COMPLETED_WITH_ERRORS if task.error_count else ImportStatus.COMPLETED
    _finish(task, status)
    if not rebuilding:  # the rebuild ends with a VACUUM (ANALYZE) of its own
        _maintain(task)
    if run.on_progress:
        run.on_progress(task)


def _prepared(run: _Run, *, offset: int) -> Iterator[Prepared]:
    """The batches from `offset` on, read and checked without the database (in the read-ahead thread)."""
    for batch in _batches(_rows(run), _batch_size()):
        if batch[-1].index < offset:
            continue
        batch = [row for row in batch if row.index >= offset]
        prepared = run.kind.prepare(batch, write=True)
        prepared.bytes_read = run.reader.bytes_read
        yield prepared


def _suspend_indexes(task: ImportTask) -> bool:
    """Drop the workspace's explorer indexes before a write of a large share of its items (see
    `explorer.indexes.should_suspend`); `_rebuild_indexes` has them built again in the background."""
    rows = task.total - task.committed_offset
    if rows < explorer_indexes.SUSPEND_MIN_ROWS:  # no need to count the workspace's items
        return False
    items = Item.objects.filter(workspace_id=task.workspace_id).count()
    if not explorer_indexes.should_suspend(rows=rows, workspace_items=items):
        return False
    return bool(explorer_indexes.suspend_field_indexes(workspace_id=task.workspace_id))


def _rebuild_indexes(task: ImportTask) -> bool:
    """Queue the build of the workspace's explorer indexes if any is missing; True when queued."""
    schema = schema_current(workspace=task.workspace)
    if not explorer_indexes.missing_field_indexes(workspace_id=task.workspace_id, schema=schema):
        return False
    index_build_queue(workspace_id=task.workspace_id)
    return True


def _maintain(task: ImportTask) -> None:
    """After a large import, VACUUM (ANALYZE) in the background, the item tables and the workspace's typed
    projection: the explorer's index-only counts need the visibility map the writes cleared, and the planner
    the new statistics."""
    from metadata_site.items.tasks import MAINTAIN_AFTER_ROWS, maintain_items

    if task.inserted_rows + task.updated_rows >= MAINTAIN_AFTER_ROWS:
        maintain_items.enqueue()
        maintain_projection.enqueue(workspace_id=task.workspace_id)


def _apply_batch(run: _Run, prepared: Prepared, report: "_ErrorReport") -> None:
    task = run.task
    with transaction.atomic():
        outcome: Outcome = run.kind.commit(prepared, write=True, change_set=task.change_set)
        size = report.write(outcome.errors, prepared.rows)
        samples = _samples(task.sample_errors, outcome.errors)
        ranges = _ranges(outcome.created_ids, start=task.created_ranges)
        offset = prepared.rows[-1].index + 1
        values = {
            "committed_offset": offset,
            "inserted_rows": F("inserted_rows") + outcome.inserted,
            "updated_rows": F("updated_rows") + outcome.updated,
            "unchanged_rows": F("unchanged_rows") + outcome.unchanged,
            "error_count": F("error_count") + len(outcome.errors),
            "sample_errors": samples,
            "error_report_bytes": size,
            "created_ranges": ranges,
            "progress": _progress(run, start=task.progress_base, share=100.0 - task.progress_base,
                                  bytes_read=prepared.bytes_read),
            "heartbeat_at": timezone.now(),
        }
        # Only the run that still sees the offset it started the batch from may commit it.
        if not ImportTask.objects.filter(pk=task.pk, committed_offset=task.committed_offset).update(**values):
            raise _Superseded
    task.refresh_from_db()
    # With DEBUG on, Django keeps the last 9,000 statements with their parameters (10,000-row JSON
    # documents here): a long task in a development worker would hold gigabytes.
    reset_queries()
    if run.on_progress:
        run.on_progress(task)


def _ranges(ids: list[int], *, start: list[list[int]]) -> list[list[int]]:
    """`start` extended by the ids as [low, high] runs of consecutive ids."""
    ranges: list[list[int]] = [list(r) for r in start]
    for pk in sorted(ids):
        if ranges and ranges[-1][1] == pk - 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    return ranges

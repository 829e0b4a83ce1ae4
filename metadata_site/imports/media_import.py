"""Registering a server directory of images and videos (`manage.py import_media`) as an `ImportTask` of kind
``media``, run by the worker with progress like the other imports, and restartable.

The first run lists the directory once into the task's manifest (sorted relative paths, written atomically),
so every later run (after a killed worker: `manage.py resume_imports`) sees the same files in the same order.
Files are then registered in batches; each batch commits its items together with the task's restart offset
and counters, so a resumed run starts at the first file not yet committed. Registering is idempotent anyway
(`media.services.item_attach_media` updates the item of that title in the folder, never a duplicate; bytes are
stored once by their hash), so even a batch run twice leaves one item per file.

- Subfolders become folders (found or created by name under the target folder) with ``recursive``.
- ``link`` keeps the files where they are: the media storage gets a symbolic link to the file under its
  content-hash name instead of a copy (local file storage only), so serving and the worker read it in place.
- A resumed run queues the worker again for the target's items still waiting for their thumbnails (a kill right
  after a batch's commit can lose the media tasks it was queueing).
- ``metadata``: a metadata-rows file (JSON, JSONL or CSV, as the metadata import reads them) whose rows are
  keyed by ``title``: a file's path relative to the directory (``day1/a.jpg``) or its name (``a.jpg``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from metadata_site.lib.background import queue_work
from metadata_site.lib.errors import MessageError
from metadata_site.projects.models import Folder
from metadata_site.schemas.selectors import schema_current

from .kinds import MetadataRows, Scope
from .models import ApplyPolicy, ImportKind, ImportStatus, ImportTask
from .parsers import ImportFileError, Reader, format_for

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".webm", ".mov"}
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
BATCH_FILES = 25
MANIFEST = "manifest.txt"

MEDIA_NO_DIRECTORY = "No such directory: {path}"
MEDIA_NO_FOLDER = "No folder {id} in the workspace {slug!r}."
MEDIA_NO_METADATA_FILE = "No such metadata file: {path}"
MEDIA_LINK_NEEDS_LOCAL_STORAGE = "--link needs the local file storage (the media storage is {storage})."
MEDIA_FILE_GONE = "the file is no longer there"
MEDIA_FILE_UNREADABLE = "cannot read the file: {error}"
MEDIA_METADATA_ROW = "metadata file, row {index}: {reason}"
MEDIA_METADATA_INVALID = "{path}: the metadata does not fit the schema: {reason}"


class MediaImportError(MessageError):
    """The import cannot start (bad directory, folder or metadata file); nothing was written."""


def _task_dir(task: ImportTask) -> Path:
    from .services import task_dir

    return task_dir(task)


def _storage():
    from metadata_site.media.storage import media_storage

    return media_storage()


def media_import_create(
    *, workspace, folder_id: int, directory: str | Path, recursive: bool = False, link: bool = False,
    metadata: str | Path | None = None, user=None, enqueue: bool = True,
) -> ImportTask:
    """A media import task, checked and (`enqueue`) queued for the worker; without `enqueue` the caller runs
    `media_import_run` itself, as the command line does. Raises MediaImportError (nothing written)."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise MediaImportError(MEDIA_NO_DIRECTORY.format(path=root))
    folder = Folder.objects.filter(workspace=workspace, pk=folder_id).first()
    if folder is None:
        raise MediaImportError(MEDIA_NO_FOLDER.format(id=folder_id, slug=workspace.slug))
    if link and not isinstance(_storage(), FileSystemStorage):
        raise MediaImportError(MEDIA_LINK_NEEDS_LOCAL_STORAGE.format(storage=type(_storage()).__name__))
    source = None
    if metadata:
        source = Path(metadata).expanduser()
        if not source.is_file():
            raise MediaImportError(MEDIA_NO_METADATA_FILE.format(path=source))
        try:
            fmt = format_for(source.name)
        except ImportFileError as exc:
            raise MediaImportError(exc.reason) from None
    with transaction.atomic():
        task = ImportTask.objects.create(
            workspace=workspace, kind=ImportKind.MEDIA, dry_run=False, policy=ApplyPolicy.SKIP_BAD_ROWS,
            status=ImportStatus.RUNNING, file_name=root.name[:500] or str(root)[:500],
            target={"folder": folder.pk, "dir": str(root.resolve()), "recursive": recursive, "link": link,
                    "match": "title"},
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if source is not None:
            directory_ = _task_dir(task)
            directory_.mkdir(parents=True, exist_ok=True)
            copy = directory_ / f"metadata.{fmt}"
            shutil.copyfile(source, copy)
            task.format = fmt
            task.file_size = copy.stat().st_size
            task.file_path = str(copy.relative_to(settings.MEDIA_ROOT))
            task.save(update_fields=["format", "file_size", "file_path"])
            try:
                _metadata_rows(task, folder)  # a file that cannot be read fails here, before anything is queued
            except ImportFileError as exc:
                shutil.rmtree(directory_, ignore_errors=True)
                raise MediaImportError(exc.reason) from None
    if enqueue:
        queue_work(task)
    return task


def _scan(root: Path, *, recursive: bool) -> Iterator[str]:
    """Relative POSIX paths of the media files under `root`, in a stable order (hidden entries skipped)."""
    if not recursive:
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            if entry.is_file() and not entry.name.startswith(".") and Path(entry.name).suffix.lower() in MEDIA_SUFFIXES:
                yield entry.name
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in MEDIA_SUFFIXES:
                yield (base / name).as_posix()


def _manifest(task: ImportTask) -> list[str]:
    """The task's file list: made once (written to a temporary name, then renamed), read back on a resume."""
    path = _task_dir(task) / MANIFEST
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        files = sorted(_scan(Path(task.target["dir"]), recursive=bool(task.target.get("recursive"))),
                       key=lambda p: (p.count("/"), p))
        partial = path.with_suffix(".part")
        partial.write_text("".join(f"{p}\n" for p in files), encoding="utf-8")
        partial.replace(path)
        ImportTask.objects.filter(pk=task.pk).update(total=len(files))
        task.total = len(files)
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _metadata_rows(task: ImportTask, folder: Folder) -> tuple[dict[str, dict], list[tuple[int, str]]]:
    """The metadata file's rows by their title (a relative path or a file name), and the rows in error.
    Read with the metadata import's own reader and row rules. Raises ImportFileError for an unreadable file."""
    if not task.file_path:
        return {}, []
    kind = MetadataRows(task=task, schema=schema_current(workspace=task.workspace), scope=Scope(task=task, folder=folder))
    reader = Reader(Path(settings.MEDIA_ROOT) / task.file_path, task.format)
    by_title: dict[str, dict] = {}
    errors: list[tuple[int, str]] = []
    rows = reader.rows(json_shapes=kind.json_shapes)
    first = next(rows, None)
    if task.format == "csv":
        kind.check_columns(reader.columns)
    for row in ([first] if first is not None else []) + list(rows):
        op = kind._op(row) if row.error is None else row.error
        if isinstance(op, str):
            errors.append((row.index, MEDIA_METADATA_ROW.format(index=row.index, reason=op)))
        elif op.title is None:
            errors.append((row.index, MEDIA_METADATA_ROW.format(index=row.index, reason="rows are matched by title")))
        else:
            by_title[op.title] = op.metadata
    return by_title, errors


def _folder_for(root: Folder, relative: str, cache: dict[str, Folder]) -> Folder:
    """The folder for a file's directory: the target folder, or its subfolders of the same names."""
    parts = relative.split("/")[:-1]
    folder = root
    for depth in range(len(parts)):
        key = "/".join(parts[: depth + 1])
        if key not in cache:
            cache[key], _ = Folder.objects.get_or_create(workspace_id=root.workspace_id, parent=folder, name=parts[depth])
        folder = cache[key]
    return folder


def _link_into_storage(path: Path) -> tuple[str, bool]:
    """A symbolic link to `path` under its content-hash name in the local media storage; (name, made it)."""
    from metadata_site.media.storage import ORIGINALS, hashed_name

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    name = hashed_name(ORIGINALS, digest.hexdigest())
    storage = _storage()
    if storage.exists(name):
        return name, False
    target = Path(storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.symlink_to(path.resolve())
    except FileExistsError:
        return name, False
    return name, True


def _register(
    task: ImportTask, root_dir: Path, relative: str, folder: Folder, metadata: dict | None
) -> tuple[int | None, bool, str]:
    """Store (or link) one file and attach it to its item, leaving the worker to be queued by the batch:
    (item id, created, "") or (None, False, the reason it failed)."""
    from metadata_site.media.services import MediaMetadataInvalid, MediaRefused, item_attach_media, media_store

    path = root_dir / relative
    linked = None
    try:
        if task.target.get("link"):
            name, made = _link_into_storage(path)
            linked = name if made else None
        with path.open("rb") as f:
            blob = media_store(data=f, filename=path.name)
        item = item_attach_media(workspace=task.workspace, folder=folder, title=path.name, blob=blob,
                                 metadata=metadata or None, user=task.created_by, queue=False)
    except FileNotFoundError:
        return None, False, f"{relative}: {MEDIA_FILE_GONE}"
    except OSError as exc:
        return None, False, f"{relative}: {MEDIA_FILE_UNREADABLE.format(error=exc.strerror or exc)}"
    except MediaMetadataInvalid as exc:
        reason = "; ".join(f"{e['key']}: {e['msg']}" for e in getattr(exc, "errors", [])) or str(exc)
        return None, False, MEDIA_METADATA_INVALID.format(path=relative, reason=reason)
    except MediaRefused as exc:
        if linked:
            _storage().delete(linked)
        return None, False, f"{relative}: {exc}"
    return item.pk, bool(getattr(item, "created", False)), ""


def _requeue_pending(folder: Folder) -> None:
    """On a resume: queue the worker again for the folder's items still waiting for it. A worker killed right
    after a batch committed may not have queued all of the batch's media tasks (they are queued once the
    transaction has committed, not in it); queueing an item twice only makes its thumbnail twice."""
    from metadata_site.items.models import Item, MediaStatus
    from metadata_site.media.services import item_queue_media

    pending = Item.objects.filter(
        folder_id__in=folder.descendant_ids(include_self=True), media_status=MediaStatus.PENDING
    )
    item_queue_media(items=pending)


def media_import_run(*, task_id: int, on_progress: Callable[[ImportTask], None] | None = None) -> str:
    """The worker's body for a media import: list the directory once, then register the files in batches,
    each committed with the restart offset; a rerun continues after the last committed batch."""
    from metadata_site.media.services import media_queue_new

    from .services import _Cancelled, _check_cancel, _ErrorReport, _finish, _samples, _set

    task = ImportTask.objects.select_related("workspace", "created_by").get(pk=task_id)
    if task.is_finished:
        return task.status
    try:
        folder = Folder.objects.get(workspace=task.workspace, pk=task.target["folder"])
        root_dir = Path(task.target["dir"])
        if not root_dir.is_dir():
            raise ImportFileError(MEDIA_NO_DIRECTORY.format(path=root_dir))
        files = _manifest(task)
        by_title, row_errors = _metadata_rows(task, folder)
        with closing(_ErrorReport(task, keep_bytes=task.error_report_bytes)) as report:
            if task.committed_offset == 0 and not task.started_at:
                # The metadata file's bad rows, reported once (their lines are the first of the error report).
                _set(task, started_at=timezone.now(), sample_errors=_samples([], row_errors),
                     error_count=len(row_errors), error_report_bytes=report.write(row_errors))
            elif task.committed_offset:
                _requeue_pending(folder)
            folders: dict[str, Folder] = {}
            offset = task.committed_offset
            while offset < len(files):
                _check_cancel(task)
                batch = files[offset: offset + BATCH_FILES]
                created = updated = 0
                errors: list[tuple[int, str]] = []
                registered: list[int] = []
                with transaction.atomic():
                    for n, relative in enumerate(batch, start=offset):
                        metadata = by_title.get(relative, by_title.get(Path(relative).name))
                        pk, made, error = _register(task, root_dir, relative, _folder_for(folder, relative, folders),
                                                    metadata)
                        if error:
                            errors.append((n, error))
                            continue
                        registered.append(pk)
                        created += made
                        updated += not made
                    media_queue_new(registered)  # one worker task for the batch, when it commits
                    new_offset = offset + len(batch)
                    values = {
                        "committed_offset": new_offset,
                        "inserted_rows": F("inserted_rows") + created,
                        "updated_rows": F("updated_rows") + updated,
                        "error_count": F("error_count") + len(errors),
                        "sample_errors": _samples(task.sample_errors, errors),
                        "error_report_bytes": report.write(errors),
                        "progress": round(100.0 * new_offset / max(1, len(files)), 2),
                        "heartbeat_at": timezone.now(),
                    }
                    # Only the run that still sees the offset it started from commits (a second runner gives way).
                    if not ImportTask.objects.filter(pk=task.pk, committed_offset=offset).update(**values):
                        transaction.set_rollback(True)
                        return ImportStatus.RUNNING
                task.refresh_from_db()
                offset = task.committed_offset
                if on_progress:
                    on_progress(task)
        task.refresh_from_db()
        _finish(task, ImportStatus.COMPLETED_WITH_ERRORS if task.error_count else ImportStatus.COMPLETED)
    except ImportFileError as exc:
        _finish(task, ImportStatus.FAILED, reason=exc.reason)
    except _Cancelled:
        task.refresh_from_db()
        _finish(task, ImportStatus.CANCELLED, reason=task.failure_reason)
    if on_progress:
        on_progress(task)
    return task.status

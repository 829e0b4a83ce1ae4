"""Writes of media: storing uploaded bytes and attaching them to items. The only writers of `Blob` and of an
item's media fields (besides the worker in `tasks.py`).

Contract (other apps build on these names):

- `media_store(*, data: bytes | BinaryIO, filename: str) -> Blob`: sniffs the type from the bytes, refuses what is
  not an accepted image or video, or is larger than MEDIA_MAX_UPLOAD_BYTES, or (images) claims more than
  MEDIA_MAX_IMAGE_PIXELS in its header, with `MediaRefused(message)`; stores the bytes once by their sha256
  (`originals/ab/cd/<sha256>`). `filename` is used in messages only; it never reaches a path.
- `item_attach_media(*, workspace, folder, title, blob, metadata=None, user=None) -> Item`: creates the item
  titled `title` in `folder` (kind image or video from the blob's type), or updates the top-level item with that
  title there (never a duplicate), sets its media status to pending and queues `tasks.make_media` (a
  `MediaBatch` row, through `lib.background.queue_work`: this module never imports ``tasks.py``) when the
  transaction commits. `metadata` (optional) is validated against the workspace schema first (bad values:
  `MediaMetadataInvalid` with per-key errors, nothing written), and merged into an existing item's metadata
  (recorded in a change set, so it can be undone). The returned item has `created` (True / False) set.
- `item_queue_media(*, items)`: marks items pending and queues the worker for them (re-making thumbnails).
- `tasks.make_media(item_ids)`: the worker: thumbnails and properties from the real bytes; marks each item
  ready or error ("cannot read this file: <reason>" in `media_error`).
"""

import hashlib
import io
import tempfile
from functools import partial
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from metadata_site.items.models import Item, ItemKind, MediaStatus
from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.lib.background import queue_work
from metadata_site.lib.errors import MessageError
from metadata_site.projects.models import Folder
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.validation import validate_metadata
from metadata_site.workspaces.models import Workspace

from . import sniff
from .decode import Unreadable, open_image
from .models import Blob, MediaBatch
from .storage import ORIGINALS, hashed_name, save_once

CHUNK = 1024 * 1024
BATCH = 500  # items per worker task
SPOOL_IN_MEMORY = 8 * 1024 * 1024

TOO_LARGE = "the file is larger than the limit of {limit:,} bytes"
NO_NAME = "the file has no name"
KIND_CLASH = "an item titled {title!r} in this folder is {kind}, not an image or a video"
METADATA_INVALID = "the metadata does not fit the schema"
TITLE_MAX = 500


class MediaRefused(MessageError):
    """A file was refused; `message` says why (the caller prefixes the file name); `status` is the HTTP status
    that fits (413 too large, 415 not an accepted type, 409 a title clash, 422 otherwise)."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.status = status


class MediaMetadataInvalid(MediaRefused):
    """The metadata given with a file does not fit the schema; `errors` are validate_metadata's per-key errors."""

    def __init__(self, errors: list[dict]):
        super().__init__(METADATA_INVALID + ": " + "; ".join(f"{e['key']}: {e['msg']}" for e in errors[:5]))
        self.errors = errors


def media_metadata_check(*, workspace: Workspace, metadata: dict | None, kind: str | None = None) -> dict:
    """`metadata` validated and normalised against the workspace schema; MediaMetadataInvalid when it does not
    fit. Callers check before storing any bytes, so a bad row stores nothing."""
    if not metadata:
        return {}
    normalised, errors = validate_metadata(schema_current(workspace=workspace), metadata, item_kind=kind)
    if errors:
        raise MediaMetadataInvalid(errors)
    return normalised


def title_from_filename(filename: str) -> str:
    """An item title from an uploaded file's name: its last path component (either slash), without control
    characters, at most 500 characters. Raises MediaRefused when nothing is left."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()
    if not name:
        raise MediaRefused(NO_NAME, status=400)
    return name[:TITLE_MAX]


def _spooled(data: bytes | BinaryIO):
    """A seekable file object holding `data`, hashed and measured on the way: (file, sha256, size, head).
    Stops reading (MediaRefused) as soon as the size limit is passed."""
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > limit:
            raise MediaRefused(TOO_LARGE.format(limit=limit), status=413)
        data = bytes(data)
        return io.BytesIO(data), hashlib.sha256(data).hexdigest(), len(data), data[: sniff.HEAD_BYTES]
    digest = hashlib.sha256()
    size = 0
    head = b""
    seekable = getattr(data, "seekable", lambda: False)()
    if seekable:
        data.seek(0)
        target = None
    else:
        target = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    try:
        while chunk := data.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise MediaRefused(TOO_LARGE.format(limit=limit), status=413)
            if len(head) < sniff.HEAD_BYTES:
                head += chunk[: sniff.HEAD_BYTES - len(head)]
            digest.update(chunk)
            if target is not None:
                target.write(chunk)
    except BaseException:
        if target is not None:
            target.close()
        raise
    fileobj = data if target is None else target
    fileobj.seek(0)
    return fileobj, digest.hexdigest(), size, head


def media_store(*, data: bytes | BinaryIO, filename: str) -> Blob:
    """Store an uploaded file once by its content hash and return its Blob (see the module docstring)."""
    fileobj, sha256, size, head = _spooled(data)
    try:
        try:
            content_type = sniff.sniff(head)
        except sniff.NotAccepted as exc:
            raise MediaRefused(exc.message, status=415) from None
        existing = Blob.objects.filter(sha256=sha256).first()
        if existing is not None:
            # The file was lost (a restored database) or cut (a crash before writes were atomic): store it again.
            save_once(existing.storage_name, fileobj, size=existing.size)
            return existing
        if content_type in sniff.IMAGE_TYPES:
            try:
                open_image(fileobj)  # the header only: refuses bombs and unreadable headers (not closed: that
                # would close `fileobj`)
            except Unreadable as exc:
                raise MediaRefused(f"cannot read this image: {exc.message}") from None
            fileobj.seek(0)
        name = save_once(hashed_name(ORIGINALS, sha256), fileobj, size=size)
        try:
            with transaction.atomic():
                return Blob.objects.create(sha256=sha256, size=size, content_type=content_type, storage_name=name)
        except IntegrityError:  # the same bytes were stored by another upload meanwhile
            return Blob.objects.get(sha256=sha256)
    finally:
        if fileobj is not data:
            fileobj.close()


def _lock_title(folder: Folder, title: str) -> None:
    """Serialise attaching media to one (folder, title) on PostgreSQL, so two uploads of the same name at once
    make one item. SQLite write transactions are serialised already (BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"media:{folder.pk}:{title}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _pending_fields(blob: Blob) -> dict:
    return {
        "blob": blob,
        "media_status": MediaStatus.PENDING,
        "media_error": "",
        "content_type": blob.content_type,
        "file_size": blob.size,
        "width": None,
        "height": None,
        "duration": None,
        "fps": None,
        "frame_count": None,
        "thumbnail_name": "",
        "media_info": None,
    }


def _queue(item_ids: list[int]) -> None:
    if item_ids:
        transaction.on_commit(partial(_queue_batch, list(item_ids)))


def _queue_batch(item_ids: list[int]) -> None:
    """Once the items are committed: a MediaBatch row for them (their workspace's), queued for the worker."""
    workspace_id = Item.objects.filter(pk=item_ids[0]).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return
    # The row, its arguments and the queued task commit together: a worker killed in between leaves none of them,
    # never a row that recovery could not queue again.
    with transaction.atomic():
        batch = MediaBatch.objects.create(workspace_id=workspace_id, total=len(item_ids),
                                          arguments={"item_ids": item_ids})
        queue_work(batch, item_ids=item_ids)


def media_queue_new(item_ids: list[int]) -> None:
    """Queue the worker (one task per BATCH items, when the transaction commits) for items just made pending: an
    upload call's files, items created in bulk with a media URL (items.services.items_create_bulk)."""
    for start in range(0, len(item_ids), BATCH):
        _queue(item_ids[start:start + BATCH])


def item_attach_media(
    *, workspace: Workspace, folder: Folder, title: str, blob: Blob, metadata: dict | None = None, user=None,
    queue: bool = True,
) -> Item:
    """Create or update the item titled `title` in `folder` with the stored `blob` (see the module docstring).
    `queue=False` leaves queueing the worker to the caller (`media_queue_new`, one task for many files)."""
    if folder.workspace_id != workspace.pk:
        raise ValueError("the folder belongs to another workspace")
    kind = sniff.kind_of(blob.content_type)
    normalised = media_metadata_check(workspace=workspace, metadata=metadata, kind=kind)
    with transaction.atomic():
        _lock_title(folder, title)
        item = (
            Item.objects.select_for_update()
            .filter(workspace=workspace, folder=folder, title=title)
            .exclude(kind=ItemKind.FRAME)
            .order_by("id")
            .first()
        )
        fields = _pending_fields(blob)
        if item is None:
            item = Item(workspace=workspace, folder=folder, title=title, kind=kind, client_metadata=normalised,
                        **fields)
            item.save()
            item.created = True
        else:
            if item.kind not in (ItemKind.IMAGE, ItemKind.VIDEO):
                raise MediaRefused(KIND_CLASH.format(title=title, kind=item.get_kind_display().lower()), status=409)
            for name, value in fields.items():
                setattr(item, name, value)
            item.kind = kind
            item.media_url = ""
            item.save(update_fields=[*fields, "kind", "media_url", "updated_at"])
            if normalised:
                item_metadata_write(
                    workspace=workspace, user=user, updates={item.pk: normalised}, mode=MODE_MERGE,
                    source="upload", operation="upload", description=f"Upload of {title}",
                )
                item.refresh_from_db(fields=["client_metadata", "updated_at"])
            item.created = False
        if queue:
            _queue([item.pk])
    return item


def item_queue_media(*, items) -> int:
    """Mark `items` (a queryset) that have media (a stored original or a URL) pending and queue the worker for
    them; returns how many. Their current thumbnails stay shown until the worker replaces them."""
    with transaction.atomic():
        if not settings.MEDIA_FETCH_URLS:
            items = items.exclude(blob__isnull=True)
        ids = list(items.exclude(blob__isnull=True, media_url="").values_list("id", flat=True))
        if ids:
            Item.objects.filter(id__in=ids).update(media_status=MediaStatus.PENDING, media_error="")
        media_queue_new(ids)
    return len(ids)


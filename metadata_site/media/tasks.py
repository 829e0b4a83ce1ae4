"""The media worker: thumbnails and properties from the real bytes, run by `manage.py db_worker`.

A request never decodes media: it only streams what this task stored.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.tasks import task, task_backends
from django.utils import timezone

from metadata_site.items.models import Item, ItemKind, MediaStatus
from metadata_site.lib.background import work_queued
from metadata_site.lib.taskmodel import TaskStatus

from . import sniff
from .decode import MediaProperties, Unreadable, read_image, read_video
from .embedding_map import MapError, map_build
from .fetch import FetchError, fetch
from .lookalike import duplicate_scan_run
from .models import DuplicateScan, EmbeddingMap, MediaBatch, VectorIndex
from .storage import media_storage, save_derived
from .vectors import index_build

log = logging.getLogger(__name__)

# Media work has its own queue (and worker process, see `make run`): decoding never delays imports and exports,
# and an import of a million URLs does not hold up the default queue.
QUEUE = "media"
CANNOT_READ = "cannot read this file: {reason}"
WRITE_BATCH = 50  # items whose fields are written in one transaction
ORIGINAL_MISSING = "the stored original is missing"


def _open_original(item: Item):
    """The item's original bytes as a seekable file, its sniffed content type and its size: the stored blob,
    or the item's URL fetched once (the original stays where it is)."""
    blob = item.blob
    if blob is not None:
        try:
            return media_storage().open(blob.storage_name, "rb"), blob.content_type, blob.size
        except (FileNotFoundError, OSError):
            raise Unreadable(ORIGINAL_MISSING) from None
    try:
        fileobj = fetch(item.media_url)
    except FetchError as exc:
        raise Unreadable(exc.message) from None
    try:
        content_type = sniff.sniff(fileobj.read(sniff.HEAD_BYTES))
    except sniff.NotAccepted as exc:
        fileobj.close()
        raise Unreadable(exc.message) from None
    size = fileobj.seek(0, 2)
    fileobj.seek(0)
    return fileobj, content_type, size


def _read(item: Item) -> tuple[MediaProperties, str, int]:
    fileobj, content_type, size = _open_original(item)
    with fileobj:
        if content_type in sniff.VIDEO_TYPES:
            return read_video(fileobj), content_type, size
        return read_image(fileobj), content_type, size


def _ready_fields(props: MediaProperties, content_type: str, size: int) -> dict:
    info = None
    if props.keyframes:
        info = {
            "keyframes": [
                {"t": k.t, "frame": k.frame, "thumb": save_derived(k.thumbnail.data, k.thumbnail.suffix)}
                for k in props.keyframes
            ]
        }
    return {
        "media_status": MediaStatus.READY,
        "media_error": "",
        "content_type": content_type,
        "file_size": size,
        "width": props.width,
        "height": props.height,
        "duration": props.duration,
        "fps": props.fps,
        "frame_count": props.frame_count,
        "thumbnail_name": save_derived(props.thumbnail.data, props.thumbnail.suffix),
        "media_info": info,
        "phash": props.phash,
        "colour": props.colour,
    }


def _error_fields(reason: str) -> dict:
    return {
        "media_status": MediaStatus.ERROR,
        "media_error": CANNOT_READ.format(reason=reason)[:500],
        "width": None, "height": None, "duration": None, "fps": None, "frame_count": None,
        "thumbnail_name": "", "media_info": None, "phash": None, "colour": None,
    }


def media_fields_for(item: Item) -> dict:
    """Read one item's media and store its thumbnails; returns the item's new media fields (ready or error)."""
    try:
        return _ready_fields(*_read(item))
    except Unreadable as exc:
        return _error_fields(exc.message)


def _write(results: list[tuple[Item, dict]]) -> None:
    """Write the items' media fields in one transaction (one commit per batch, not per item). A row is written
    only if its media did not change meanwhile (a newer upload queues its own run)."""
    with transaction.atomic():
        for item, fields in results:
            written = Item.objects.filter(pk=item.pk, blob_id=item.blob_id, media_url=item.media_url).update(**fields)
            if written and item.parent_id and fields["thumbnail_name"]:
                _update_group_thumbnail(item.parent_id)


def _update_group_thumbnail(group_id: int) -> None:
    """An image group's thumbnail is its first frame's."""
    first = Item.objects.filter(parent_id=group_id).order_by("frame_index", "id").values("thumbnail_name").first()
    if first is not None:
        Item.objects.filter(pk=group_id, kind=ItemKind.IMAGE_GROUP).update(thumbnail_name=first["thumbnail_name"])


def make_media_items(item_ids: list[int], *, on_written: Callable[[int], None] | None = None) -> dict[str, int]:
    """Thumbnails and properties of the items `item_ids` (a stored original or a URL); returns counts by status.
    `on_written(n)` is told how many items are written so far, after each batch."""
    counts: dict[str, int] = {}
    written = 0
    items = Item.objects.filter(pk__in=item_ids).exclude(blob__isnull=True, media_url="").select_related("blob")
    if not settings.MEDIA_FETCH_URLS:
        items = items.exclude(blob__isnull=True)
    results: list[tuple[Item, dict]] = []
    for item in items:
        fields = media_fields_for(item)
        results.append((item, fields))
        counts[fields["media_status"]] = counts.get(fields["media_status"], 0) + 1
        if len(results) >= WRITE_BATCH:
            _write(results)
            written += len(results)
            results = []
            if on_written:
                on_written(written)
    _write(results)
    return counts


@task(queue_name=QUEUE)
def make_media(item_ids: list[int], batch_id: int | None = None) -> dict[str, int]:
    """The worker's task: `make_media_items`, reporting on the `MediaBatch` row `batch_id` when queued with one."""
    batches = MediaBatch.objects.filter(pk=batch_id) if batch_id is not None else MediaBatch.objects.none()
    batches.update(status=TaskStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    try:
        counts = make_media_items(
            item_ids, on_written=lambda n: batches.update(done=n, heartbeat_at=timezone.now())
        )
    except Exception as exc:
        for batch in batches:
            batch.mark_failed(str(exc))
        raise
    batches.update(status=TaskStatus.COMPLETED, done=len(item_ids), ready=counts.get(MediaStatus.READY, 0),
                   unreadable=counts.get(MediaStatus.ERROR, 0), finished_at=timezone.now())
    return counts


def make_media_task():
    """`make_media` on the "media" queue, or on the default queue where TASKS does not list a "media" queue."""
    queues = task_backends[make_media.backend].queues
    return make_media if not queues or QUEUE in queues else make_media.using(queue_name="default")


@task()
def find_duplicates(workspace_id: int) -> dict[str, int]:
    """The worker's near-duplicate search (`lookalike.duplicate_scan_run`); a failure ends the scan FAILED."""
    try:
        return duplicate_scan_run(workspace_id=workspace_id)
    except Exception as exc:
        for scan in DuplicateScan.objects.filter(workspace_id=workspace_id):
            scan.mark_failed(str(exc))
        raise


@receiver(work_queued, sender=MediaBatch, dispatch_uid="media.enqueue_batch")
def _enqueue_batch(sender, *, row: MediaBatch, item_ids: list[int], **kwargs):
    return make_media_task().enqueue(item_ids, batch_id=row.pk)


@receiver(work_queued, sender=DuplicateScan, dispatch_uid="media.enqueue_duplicate_scan")
def _enqueue_duplicate_scan(sender, *, row: DuplicateScan, **kwargs):
    return find_duplicates.enqueue(row.workspace_id)


@task()
def vector_index_build(workspace_id: int, field: str) -> dict[str, int]:
    """The worker's (re)build of an embedding field's index (`vectors.index_build`), its progress in the field's
    VectorIndex row; a failure ends that build FAILED (the file built before stays in use)."""
    rows = VectorIndex.objects.filter(workspace_id=workspace_id, field=field)
    try:
        row = index_build(workspace_id=workspace_id, field=field, progress=lambda p: rows.update(done=p))
    except Exception as exc:
        for row in rows:
            row.mark_failed(str(exc))
        raise
    return {"size": row.size if row else 0}


@receiver(work_queued, sender=VectorIndex, dispatch_uid="media.enqueue_vector_index")
def _enqueue_vector_index(sender, *, row: VectorIndex, **kwargs):
    return vector_index_build.enqueue(row.workspace_id, row.field)


@task()
def embedding_map_build(map_id: int) -> dict[str, int]:
    """The worker's build of an embedding map (`embedding_map.map_build`); a failure ends the build FAILED with the
    reason (the points of the previous build stay)."""
    try:
        row = map_build(map_id=map_id)
    except MapError as exc:
        for row in EmbeddingMap.objects.filter(pk=map_id):
            row.mark_failed(exc.message)
        return {"size": 0}
    except Exception as exc:
        for row in EmbeddingMap.objects.filter(pk=map_id):
            row.mark_failed(f"{type(exc).__name__}: {exc}")
        raise
    return {"size": row.size if row else 0}


@receiver(work_queued, sender=EmbeddingMap, dispatch_uid="media.enqueue_embedding_map")
def _enqueue_embedding_map(sender, *, row: EmbeddingMap, **kwargs):
    return embedding_map_build.enqueue(row.pk)

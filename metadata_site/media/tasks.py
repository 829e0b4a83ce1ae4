"""The media worker: thumbnails and properties from the real bytes, run by `manage.py db_worker`.

A request never decodes media: it only streams what this task stored.
"""

import logging

from django.db import transaction
from django.tasks import task

from metadata_site.items.models import Item, ItemKind, MediaStatus

from . import sniff
from .decode import THUMBNAIL_SUFFIX, MediaProperties, Unreadable, read_image, read_video
from .storage import media_storage, save_derived

log = logging.getLogger(__name__)

CANNOT_READ = "cannot read this file: {reason}"
ORIGINAL_MISSING = "the stored original is missing"


def _read(item: Item) -> MediaProperties:
    blob = item.blob
    try:
        fileobj = media_storage().open(blob.storage_name, "rb")
    except (FileNotFoundError, OSError):
        raise Unreadable(ORIGINAL_MISSING) from None
    with fileobj:
        if blob.content_type in sniff.VIDEO_TYPES:
            return read_video(fileobj)
        return read_image(fileobj)


def _ready_fields(props: MediaProperties) -> dict:
    info = None
    if props.keyframes:
        info = {
            "keyframes": [
                {"t": k.t, "frame": k.frame, "thumb": save_derived(k.thumbnail, THUMBNAIL_SUFFIX)}
                for k in props.keyframes
            ]
        }
    return {
        "media_status": MediaStatus.READY,
        "media_error": "",
        "width": props.width,
        "height": props.height,
        "duration": props.duration,
        "fps": props.fps,
        "frame_count": props.frame_count,
        "thumbnail_name": save_derived(props.thumbnail, THUMBNAIL_SUFFIX),
        "media_info": info,
    }


def _error_fields(reason: str) -> dict:
    return {
        "media_status": MediaStatus.ERROR,
        "media_error": CANNOT_READ.format(reason=reason)[:500],
        "width": None, "height": None, "duration": None, "fps": None, "frame_count": None,
        "thumbnail_name": "", "media_info": None,
    }


def make_media_for(item: Item) -> str:
    """Read one item's media, store its thumbnails and write its properties; returns the new status. The row
    is written only if its media did not change meanwhile (a newer upload queues its own run)."""
    try:
        fields = _ready_fields(_read(item))
    except Unreadable as exc:
        fields = _error_fields(exc.message)
    with transaction.atomic():
        written = Item.objects.filter(pk=item.pk, blob_id=item.blob_id, media_url=item.media_url).update(**fields)
        if written and item.parent_id and fields["thumbnail_name"]:
            _update_group_thumbnail(item.parent_id)
    return fields["media_status"]


def _update_group_thumbnail(group_id: int) -> None:
    """An image group's thumbnail is its first frame's."""
    first = Item.objects.filter(parent_id=group_id).order_by("frame_index", "id").values("thumbnail_name").first()
    if first is not None:
        Item.objects.filter(pk=group_id, kind=ItemKind.IMAGE_GROUP).update(thumbnail_name=first["thumbnail_name"])


@task()
def make_media(item_ids: list[int]) -> dict[str, int]:
    """Thumbnails and properties of the items `item_ids` that have a stored original; returns counts by status."""
    counts: dict[str, int] = {}
    for item in Item.objects.filter(pk__in=item_ids).exclude(blob__isnull=True).select_related("blob"):
        status = make_media_for(item)
        counts[status] = counts.get(status, 0) + 1
    return counts

"""Reads of media for pages and the API: the URLs of an item's thumbnail, original and keyframes."""

from django.urls import reverse

from metadata_site.items.models import Item

from .storage import name_version


def item_thumbnail_url(*, slug: str, item: Item) -> str:
    """The thumbnail URL; with the thumbnail's version when the worker made one, so browsers cache it for good."""
    url = reverse("items:thumbnail", args=[slug, item.uid])
    return f"{url}?v={name_version(item.thumbnail_name)}" if item.thumbnail_name else url


def item_original_url(*, slug: str, item: Item) -> str | None:
    """The URL of the stored original, or None when the item has none (a URL-only item: see `media_url`)."""
    return reverse("media:original", args=[slug, item.uid]) if item.blob_id else None


def item_keyframes(*, slug: str, item: Item) -> list[dict]:
    """A video's keyframes: ``[{"t": seconds, "frame": n, "url": thumbnail URL}, ...]`` in time order."""
    keyframes = (item.media_info or {}).get("keyframes") or []
    return [
        {
            "t": k["t"],
            "frame": k.get("frame"),
            "url": f"{reverse('media:keyframe', args=[slug, item.uid, n])}?v={name_version(k['thumb'])}",
        }
        for n, k in enumerate(keyframes)
    ]

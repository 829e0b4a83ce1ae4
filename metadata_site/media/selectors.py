"""Reads of media for pages and the API: the URLs of an item's thumbnail, original and keyframes."""

from django.http import HttpRequest
from django.urls import reverse

from metadata_site.items.models import Item

from . import tickets
from .storage import name_version


def _ticketed(url: str, ticket: str) -> str:
    return f"{url}&{ticket}" if ticket else url


def item_thumbnail_url(*, slug: str, item: Item, request: HttpRequest | None = None) -> str:
    """The thumbnail URL; with the thumbnail's version when the worker made one, so browsers cache it for good, and
    with `request`, a ticket that lets this session read it without a database query (`tickets`). Only for pages
    that have checked the viewer's membership."""
    url = reverse("items:thumbnail", args=[slug, item.uid])
    if not item.thumbnail_name:
        return url
    url = f"{url}?v={name_version(item.thumbnail_name)}"
    return _ticketed(url, tickets.mint(request, slug=slug, uid=item.uid, name=item.thumbnail_name))


def item_original_url(*, slug: str, item: Item) -> str | None:
    """The URL of the stored original, or None when the item has none (a URL-only item: see `media_url`)."""
    return reverse("media:original", args=[slug, item.uid]) if item.blob_id else None


def item_keyframes(*, slug: str, item: Item, request: HttpRequest | None = None) -> list[dict]:
    """A video's keyframes: ``[{"t": seconds, "frame": n, "url": thumbnail URL}, ...]`` in time order (ticketed
    for `request`'s session, as `item_thumbnail_url`)."""
    keyframes = (item.media_info or {}).get("keyframes") or []
    return [
        {
            "t": k["t"],
            "frame": k.get("frame"),
            "url": _ticketed(
                f"{reverse('media:keyframe', args=[slug, item.uid, n])}?v={name_version(k['thumb'])}",
                tickets.mint(request, slug=slug, uid=item.uid, name=k["thumb"]),
            ),
        }
        for n, k in enumerate(keyframes)
    ]

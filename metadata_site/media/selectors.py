"""Reads of media for pages and the API: the URLs of an item's thumbnail, original and keyframes."""

from collections.abc import Iterable

from django.http import HttpRequest
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.lib.urls import uid_url

from . import tickets
from .storage import name_version


def _ticketed(url: str, ticket: str) -> str:
    return f"{url}&{ticket}" if ticket else url


def item_thumbnail_url(*, slug: str, item: Item, request: HttpRequest | None = None) -> str:
    """The thumbnail URL; with the thumbnail's version when the worker made one, so browsers cache it for good, and
    with `request`, a ticket that lets this session read it without a database query (`tickets`). Only for pages
    that have checked the viewer's membership."""
    return item_thumbnail_urls(slug=slug, items=[item], request=request)[0]


def item_thumbnail_urls(*, slug: str, items: Iterable[Item], request: HttpRequest | None = None) -> list[str]:
    """`item_thumbnail_url` of each of `items`, in order (one URL resolution for all of them)."""
    base = uid_url("items:thumbnail", slug)
    return [_thumbnail_url(base(item.uid), slug=slug, item=item, request=request) for item in items]


def item_tiles(*, slug: str, items: Iterable[Item], request: HttpRequest | None = None) -> list[tuple[Item, str, str]]:
    """Each of `items` with its page URL and its thumbnail URL (`item_thumbnail_urls`), as the grids link them: one
    URL resolution for all the pages and one for all the thumbnails."""
    items = list(items)
    page_url = uid_url("items:item", slug)
    thumbs = item_thumbnail_urls(slug=slug, items=items, request=request)
    return [(item, page_url(item.uid), thumb) for item, thumb in zip(items, thumbs, strict=True)]


def _thumbnail_url(url: str, *, slug: str, item: Item, request: HttpRequest | None) -> str:
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


SPARK_POINTS = 48
SPARK_WIDTH, SPARK_HEIGHT = 96, 16


def _sparkline(data: bytes) -> str:
    """An SVG polyline's points: the vector averaged into SPARK_POINTS buckets and scaled to the box (a glance at
    its shape; never the numbers themselves)."""
    import numpy as np

    vector = np.frombuffer(bytes(data), dtype="<f4").astype(np.float64)
    buckets = np.array([b.mean() for b in np.array_split(vector, min(SPARK_POINTS, len(vector)))])
    low, high = buckets.min(), buckets.max()
    scaled = (buckets - low) / (high - low) if high > low else np.full(len(buckets), 0.5)
    step = SPARK_WIDTH / max(1, len(buckets) - 1)
    return " ".join(f"{i * step:.1f},{SPARK_HEIGHT - 1 - v * (SPARK_HEIGHT - 2):.1f}" for i, v in enumerate(scaled))


def item_embeddings(*, item: Item, schema) -> list[dict]:
    """The item's vectors of the schema's embedding fields, as a page shows them: ``{"name", "dimension",
    "distance", "sparkline"}`` (a "512-d vector" and a tiny sparkline, never a wall of numbers)."""
    from .models import Embedding

    fields = schema.embeddings
    if not fields:
        return []
    stored = dict(Embedding.objects.filter(item=item, field__in=list(fields)).values_list("field", "vector"))
    return [
        {"name": name, "dimension": spec.dimension, "distance": spec.distance, "sparkline": _sparkline(stored[name])}
        for name, spec in fields.items()
        if name in stored and len(stored[name]) == spec.dimension * 4
    ]

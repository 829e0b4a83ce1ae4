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

"""Small generated thumbnails for items that have no stored image (demo and benchmark data)."""

import hashlib
import io

from PIL import Image, ImageDraw

PALETTE = {
    "Sunny": (250, 204, 21),
    "Cloudy": (148, 163, 184),
    "Rain": (59, 130, 246),
    "Snow": (226, 232, 240),
    "Fog": (203, 213, 225),
}


def render_thumbnail(*, uid: str, title: str, metadata: dict, size: tuple[int, int] = (160, 120)) -> bytes:
    """A deterministic PNG: a sky tinted by the item's weather, darker when `dark`, with its title."""
    digest = hashlib.sha256(uid.encode()).digest()
    weather = metadata.get("weather") if isinstance(metadata, dict) else None
    sky = PALETTE.get(weather) if isinstance(weather, str) else None
    if sky is None:
        sky = (digest[0], digest[1], digest[2])
    if isinstance(metadata, dict) and metadata.get("dark") is True:
        sky = tuple(c // 3 for c in sky)
    w, h = size
    img = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(img)
    ground = (40 + digest[3] // 4, 90 + digest[4] // 3, 40 + digest[5] // 4)
    horizon = h * 2 // 3
    draw.polygon([(0, horizon), (w // 3, horizon - 10 - digest[6] % 30), (w, horizon), (w, h), (0, h)], fill=ground)
    draw.rectangle([0, h - 18, w, h], fill=(0, 0, 0))
    draw.text((4, h - 15), title[:26], fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()

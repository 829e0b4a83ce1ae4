"""Real pictures and real edited copies of them, made with Pillow, for the look-alike tests."""

import io
import random
import struct

from PIL import Image

from metadata_site.lib.demo_scenes import render
from metadata_site.media.descriptor import distance, to_signed, unpack_colour
from tests.factories import make_folder, make_item, make_schema

SCENES = [({"weather": "Sunny"}, 1), ({"weather": "Rain"}, 2), ({"weather": "Snow", "dark": True}, 3),
          ({"weather": "Fog"}, 4)]


def scene(n: int) -> Image.Image:
    metadata, seed = SCENES[n]
    return render(metadata, seed=seed)


def jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def edited_copies(im: Image.Image) -> dict[str, bytes]:
    """A resized copy, a copy re-encoded at a low JPEG quality, and a slightly cropped copy (as PNG)."""
    width, height = im.size
    buf = io.BytesIO()
    im.crop((8, 6, width - 8, height - 6)).save(buf, format="PNG")
    return {
        "resized": jpeg(im.resize((width // 2, height // 2), Image.Resampling.LANCZOS)),
        "requality": jpeg(im, quality=40),
        "cropped": buf.getvalue(),
    }


def _random_descriptor(rng: random.Random) -> dict:
    weights = [rng.random() for _ in range(64)]
    total = sum(weights)
    return {"phash": to_signed(rng.getrandbits(64)), "colour": struct.pack("<64f", *(w / total for w in weights))}


def make_random_items(workspace):
    """150 items with random descriptors and a `weather` field (Sunny for 2 in 3)."""
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(workspace)
    rng = random.Random(22)
    return [
        make_item(folder, f"r{n:03d}", metadata={"weather": "Sunny" if n % 3 else "Rain"}, **_random_descriptor(rng))
        for n in range(150)
    ]


def reference(items, query, k: int, keep=lambda item: True) -> list[tuple[str, float]]:
    """Brute force: every candidate's distance, sorted by (distance, id)."""
    q = (query.phash, unpack_colour(query.colour))
    scored = sorted(
        (distance(*q, it.phash, unpack_colour(it.colour)), it.pk, it.title) for it in items if keep(it)
    )
    return [(title, d) for d, _, title in scored[:k]]

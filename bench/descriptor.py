#!/usr/bin/env python3
"""The built-in visual descriptor's cost at thumbnail time: `decode.read_image` (decode, thumbnail, JPEG encode)
with and without the descriptor, on generated road scenes (nothing downloaded), best of several interleaved rounds.
Then, in memory (no database), the near-duplicate grouping (`lookalike.groups_of`) of --hashes random hashes with
a tenth of them near copies, and the exact-search distance per candidate (`descriptor.distance`).

    .venv/bin/python bench/descriptor.py [--rounds 5] [--n 40] [--hashes 100000]
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")

import django  # noqa: E402

django.setup()

from metadata_site.lib.demo_scenes import render  # noqa: E402
from metadata_site.media import decode  # noqa: E402

SIZES = [(640, 480), (1920, 1080), (4000, 3000)]


def _jpeg(size) -> bytes:
    buf = io.BytesIO()
    render({"weather": "Sunny"}, seed=1, size=size).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _time(data: bytes, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        decode.read_image(io.BytesIO(data))
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--hashes", type=int, default=100_000)
    args = parser.parse_args()
    real = decode.describe
    for size in SIZES:
        data = _jpeg(size)
        n = max(10, args.n * 640 * 480 // (size[0] * size[1]))
        without = with_descriptor = float("inf")
        for _ in range(args.rounds):  # interleaved, best of each: the machine's other load varies
            decode.describe = lambda im: (None, None)
            without = min(without, _time(data, n))
            decode.describe = real
            with_descriptor = min(with_descriptor, _time(data, n))
        print(f"{size[0]}×{size[1]} JPEG: thumbnail {without * 1000:.2f} ms, with descriptor {with_descriptor * 1000:.2f} ms"
              f" (+{(with_descriptor - without) * 1000:.2f} ms, +{100 * (with_descriptor / without - 1):.0f} %)")

    _lookalike(args.hashes)


def _lookalike(count: int) -> None:
    import random
    import struct

    from metadata_site.media.descriptor import distance
    from metadata_site.media.lookalike import groups_of

    rng = random.Random(1)
    hashes = [rng.getrandbits(64) for _ in range(count)]
    for i in range(0, count, 10):  # a tenth become near copies (3 bits flipped) of their predecessor
        if i:
            hashes[i] = hashes[i - 1] ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
    started = time.perf_counter()
    groups = groups_of(list(range(count)), hashes)
    print(f"near-duplicate groups of {count:,} hashes: {time.perf_counter() - started:.2f} s, "
          f"{len(set(groups.values())):,} groups of {len(groups):,} items")
    colour = struct.unpack("<64f", struct.pack("<64f", *([1 / 64] * 64)))
    started = time.perf_counter()
    for h in hashes[:20_000]:
        distance(hashes[0], colour, h, colour)
    per = (time.perf_counter() - started) / 20_000
    print(f"exact search: {per * 1e6:.1f} µs a candidate in Python (about {per * 1e5:.1f} s per 100,000 candidates)")


if __name__ == "__main__":
    main()

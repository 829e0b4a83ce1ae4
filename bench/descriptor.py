#!/usr/bin/env python3
"""The built-in visual descriptor's cost at thumbnail time: `decode.read_image` (decode, thumbnail, JPEG encode)
with and without the descriptor, on generated road scenes (nothing downloaded), best of several interleaved rounds.

    .venv/bin/python bench/descriptor.py [--rounds 5] [--n 40]
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


if __name__ == "__main__":
    main()

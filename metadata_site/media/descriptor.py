"""The built-in visual descriptor of an image, computed by the worker from the pixels it decodes anyway for the
thumbnail (no model, no download):

- `phash`: a 64-bit difference hash (dHash) of a 9×8 greyscale reduction, stored as a signed bigint; two
  images whose hashes differ in few bits (Hamming distance) look alike (resized, re-encoded, slightly cropped);
- `colour`: a 4×4×4 RGB histogram of a 16×16 reduction, L1-normalised, stored as 64 little-endian float32.

`distance` combines both into one number in [0, 1] (0 for the same picture).
"""

import struct

import numpy as np
from PIL import Image

COLOUR_BINS = 64
_COLOUR_FORMAT = f"<{COLOUR_BINS}f"
COLOUR_BYTES = struct.calcsize(_COLOUR_FORMAT)
HASH_BITS = 64


def to_signed(h: int) -> int:
    """An unsigned 64-bit hash as the signed 64-bit integer a bigint column stores."""
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned(h: int) -> int:
    return h & 0xFFFFFFFFFFFFFFFF


_BASE = (36, 32)  # an integer reduction to about this size first (cheap), then the small resizes


def _reduced(im: Image.Image) -> Image.Image:
    im = im.convert("RGB") if im.mode != "RGB" else im
    factor = max(1, min(im.width // _BASE[0], im.height // _BASE[1]))
    return im.reduce(factor) if factor > 1 else im


def dhash(im: Image.Image) -> int:
    """64 bits: is each pixel of a 9×8 greyscale reduction brighter than its right neighbour."""
    px = _reduced(im).resize((9, 8), Image.Resampling.BOX).convert("L").tobytes()
    return _dhash_bits(px)


_BIT_WEIGHTS = np.left_shift(np.uint64(1), np.arange(63, -1, -1, dtype=np.uint64))  # first comparison: top bit


def _dhash_bits(px: bytes) -> int:
    grey = np.frombuffer(px, dtype=np.uint8).reshape(8, 9)
    brighter = (grey[:, :8] > grey[:, 1:]).ravel()
    return int(_BIT_WEIGHTS[brighter].sum(dtype=np.uint64))


def _histogram(base: Image.Image) -> bytes:
    rgb = np.frombuffer(base.resize((16, 16), Image.Resampling.BOX).tobytes(), dtype=np.uint8).reshape(-1, 3) >> 6
    bins = (rgb[:, 0].astype(np.intp) << 4) | (rgb[:, 1] << 2) | rgb[:, 2]  # r4 * 16 + g4 * 4 + b4 (256 pixels)
    return (np.bincount(bins, minlength=COLOUR_BINS) / 256).astype("<f4").tobytes()


def colour_histogram(im: Image.Image) -> bytes:
    """A 4×4×4 RGB histogram of a 16×16 reduction, L1-normalised, as 64 float32."""
    return _histogram(_reduced(im))


def describe(im: Image.Image) -> tuple[int, bytes]:
    """(phash as a signed 64-bit integer, colour histogram bytes) of an image (the thumbnail-sized pixels),
    (an integer reduction, two tiny resizes, then 64 comparisons and 256 bin counts in numpy)."""
    base = _reduced(im)
    grey = base.resize((9, 8), Image.Resampling.BOX).convert("L").tobytes()
    return to_signed(_dhash_bits(grey)), _histogram(base)


def unpack_colour(data: bytes) -> tuple[float, ...]:
    return struct.unpack(_COLOUR_FORMAT, bytes(data))


def hamming(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def distance(phash_a: int, colour_a: tuple[float, ...], phash_b: int, colour_b: tuple[float, ...]) -> float:
    """Half the Hamming distance of the hashes over 64 plus half the L1 distance of the histograms over 2:
    0 for the same picture, 1 at most."""
    l1 = sum(abs(x - y) for x, y in zip(colour_a, colour_b, strict=True))
    return round(hamming(phash_a, phash_b) / HASH_BITS / 2 + l1 / 4, 4)

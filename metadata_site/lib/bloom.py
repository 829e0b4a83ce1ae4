"""A small Bloom filter of strings: "certainly not added" or "maybe added", in a fixed 2 MB.

A data import into a folder that was empty when it started uses one to skip the title lookup of every new
item: only a title the filter may have seen (one this import created, or a rare false positive) is looked
up. With the default 2**24 bits and three probes, a million titles give about 0.4 % false positives; more
titles only raise that rate (more lookups), never give a wrong answer.
"""

from collections.abc import Iterable

_MASK32 = 0xFFFFFFFF


class StringBloom:
    def __init__(self, *, bits_log2: int = 24, probes: int = 3):
        self._mask = (1 << bits_log2) - 1
        self._probes = probes
        self._bits = bytearray(1 << (bits_log2 - 3))

    def _positions(self, text: str) -> list[int]:
        # Double hashing on the halves of Python's (per-process, cached) string hash.
        h = hash(text)
        low, high = h & _MASK32, ((h >> 32) & _MASK32) | 1
        mask = self._mask
        return [(low + i * high) & mask for i in range(self._probes)]

    def add(self, text: str) -> None:
        bits = self._bits
        for pos in self._positions(text):
            bits[pos >> 3] |= 1 << (pos & 7)

    def update(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    def __contains__(self, text: str) -> bool:
        bits = self._bits
        return all(bits[pos >> 3] & (1 << (pos & 7)) for pos in self._positions(text))

"""Union-find on whole numpy arrays, for the near-duplicate groups (`lookalike`, `vector_dupes`)."""

from __future__ import annotations

import numpy as np


def components(n: int, pairs: np.ndarray, parent: np.ndarray | None = None) -> np.ndarray:
    """The root of each of n nodes joined by `pairs` (2×P), the root being the smallest node of its component:
    union-find done on whole arrays (hook each pair's larger root under the smaller, then jump pointers until
    every node points at its root; repeat until every pair has one root). `parent`: the roots an earlier call
    returned, to join more pairs to them (pairs found a block at a time)."""
    parent = np.arange(n, dtype=np.int64) if parent is None else parent
    a, b = pairs
    while len(a):
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            break
        a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))  # a root's parent only ever gets smaller
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def groups_from_roots(ids: np.ndarray, roots: np.ndarray) -> dict[int, int]:
    """{id: its root's id} of the ids whose component has more than one node."""
    sizes = np.bincount(roots, minlength=len(ids))
    grouped = np.flatnonzero(sizes[roots] > 1)
    return dict(zip(ids[grouped].tolist(), ids[roots[grouped]].tolist(), strict=True))

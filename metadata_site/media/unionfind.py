"""Union-find on whole numpy arrays, for the near-duplicate groups (`lookalike`, `vector_dupes`).

The forest is an array `parent` in which every node's parent is a smaller node (or itself, for a root), so the
root of a component is its smallest node. Pairs are joined a block at a time (`components`), touching only the
nodes of the block; the whole array is compressed once, at the end (`groups_from_roots`)."""

from __future__ import annotations

import numpy as np


def _roots(parent: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    roots = parent[nodes]
    while True:
        up = parent[roots]
        if np.array_equal(up, roots):
            return roots
        roots = up


def components(n: int, pairs: np.ndarray, parent: np.ndarray | None = None) -> np.ndarray:
    """The forest of n nodes (`parent`, a new one when None) with `pairs` (2×P) joined: each pair's larger root
    is hooked under the smaller (the smallest proposal wins where several pairs hook the same root; the others
    are joined on the next round), until every pair has one root. The nodes of the pairs are pointed at their
    roots on the way (path compression for the nodes touched)."""
    parent = np.arange(n, dtype=np.int64) if parent is None else parent
    a, b = pairs
    while len(a):
        ra, rb = _roots(parent, a), _roots(parent, b)
        parent[a], parent[b] = ra, rb  # an ancestor is smaller: the forest stays well-founded
        differ = ra != rb
        if not differ.any():
            break
        a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
    return parent


def roots_of(parent: np.ndarray) -> np.ndarray:
    """Every node's root (the smallest node of its component)."""
    return _roots(parent, np.arange(len(parent), dtype=np.int64))


def groups_from_roots(ids: np.ndarray, parent: np.ndarray) -> dict[int, int]:
    """{id: the id of its component's root} of the ids whose component has more than one node (`parent` a forest
    from `components`, over the positions of `ids`)."""
    roots = roots_of(parent)
    sizes = np.bincount(roots, minlength=len(ids))
    grouped = np.flatnonzero(sizes[roots] > 1)
    return dict(zip(ids[grouped].tolist(), ids[roots[grouped]].tolist(), strict=True))

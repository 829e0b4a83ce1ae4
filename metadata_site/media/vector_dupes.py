"""Near-duplicate groups by an embedding field: the items whose vectors lie within a distance (in the field's
metric: cosine 1 - cos, euclidean L2) of another's, joined into groups (union-find, the smallest id representing
each group), as `lookalike.groups_of` does for the built-in descriptor.

- Exact, for a field of at most `settings.VECTOR_EXACT_MAX` vectors: every pair is compared (numpy, EXACT_BLOCK
  rows against all at a time), so the groups are exactly those of the threshold.
- Through the field's usearch index for a larger one (the index `media.vectors` builds in the worker): each
  vector, read in keyset batches, is searched in the index (`Index.search` on the whole batch) for its
  NEIGHBOURS nearest, and the neighbours within the threshold are joined. Approximate: a pair is missed when
  one of them is not among the other's NEIGHBOURS nearest in the index (more than NEIGHBOURS near copies of
  one picture still end in one group through each other), or when both vectors were written since the index
  was built (a fresh vector is still searched against the indexed ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from django.conf import settings

from .models import Embedding, VectorIndex
from .unionfind import components, groups_from_roots
from .vectors import Field, vector_batches

EXACT_BLOCK = 256  # rows compared against all the later ones at once (256 × 20,000 float32: 20 MB)
NEIGHBOURS = 32  # neighbours asked of the index per vector
SCAN_BATCH = 20_000  # vectors read per query for the exact comparison
SEARCH_BATCH = 2000  # vectors read and searched at once through the index (4 MB at 512 dimensions)
MAX_COSINE = 2.0

NO_INDEX = (
    "{field}: {count:,} vectors are more than can be compared pair by pair ({limit:,}), and the field's index is not "
    "built yet (the worker builds it after vectors are written): try again once it is."
)


def threshold_error(field: Field, threshold: float) -> str | None:
    """Why `threshold` is not a distance of `field`'s metric, or None."""
    if not math.isfinite(threshold) or threshold < 0:
        return f"a distance is a number of 0 or more (got {threshold})"
    if field.distance == "cosine" and threshold > MAX_COSINE:
        return f"a cosine distance (1 - cos) is at most {MAX_COSINE:g} (got {threshold:g})"
    return None


def _index_row(workspace_id: int, field: Field) -> VectorIndex | None:
    return VectorIndex.objects.filter(workspace_id=workspace_id, field=field.name, file_name__gt="",
                                      dimension=field.dimension, metric=field.distance,
                                      built_at__isnull=False).first()


def vector_count(*, workspace_id: int, field: Field) -> int:
    return Embedding.objects.filter(workspace_id=workspace_id, field=field.name).count()


def unavailable(*, workspace_id: int, field: Field) -> str | None:
    """Why the field's near-duplicates cannot be searched now (too many vectors and no index), or None."""
    count = vector_count(workspace_id=workspace_id, field=field)
    if count > settings.VECTOR_EXACT_MAX and _index_row(workspace_id, field) is None:
        return NO_INDEX.format(field=field.name, count=count, limit=settings.VECTOR_EXACT_MAX)
    return None


def _normalised(matrix: np.ndarray) -> np.ndarray:
    m = matrix.astype(np.float32, copy=True)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    np.divide(m, norms, out=m, where=norms > 0)
    return m


def _exact_pairs(matrix: np.ndarray, field: Field, threshold: float,
                 progress: Callable[[int], object] | None = None) -> Iterator[np.ndarray]:
    """The pairs (2×P, a < b) of rows within `threshold`, a block of EXACT_BLOCK rows against the later rows at
    a time (one array a block: joined as they come, never all kept)."""
    n = len(matrix)
    if field.distance == "cosine":
        m = _normalised(matrix)
        zero = np.linalg.norm(matrix, axis=1) == 0  # a zero vector is at distance 1 from everything
    else:
        m = matrix.astype(np.float32)
        squares = np.einsum("ij,ij->i", m, m)
    for start in range(0, n, EXACT_BLOCK):
        stop = min(n, start + EXACT_BLOCK)
        block = m[start:stop]
        if field.distance == "cosine":
            dist = 1.0 - block @ m[start:].T
            dist[zero[start:stop], :] = 1.0
            dist[:, zero[start:]] = 1.0
            near = dist <= threshold + 1e-6
        else:
            sq = squares[start:stop, None] + squares[None, start:] - 2.0 * (block @ m[start:].T)
            near = sq <= threshold * threshold + 1e-6 * max(1.0, threshold * threshold)
        rows, cols = np.nonzero(near)
        cols = cols + start
        rows = rows + start
        later = cols > rows
        yield np.stack([rows[later], cols[later]]).astype(np.int64)
        if progress is not None:
            progress(40 + 50 * stop // max(n, 1))


def _open_index(row: VectorIndex):
    """The built index file of `row`, memory-mapped, or None when the file is missing (another machine's worker
    built it)."""
    from usearch.index import Index

    path = Path(settings.VECTOR_INDEX_DIR) / row.file_name
    if not path.exists():
        return None
    return Index.restore(str(path), view=True)


def _index_pairs(workspace_id: int, field: Field, threshold: float, ids: np.ndarray, row: VectorIndex,
                 progress: Callable[[int], object] | None = None) -> Iterator[np.ndarray]:
    """The pairs (2×P, positions in `ids`) of each vector and its index neighbours within `threshold`, one array
    a batch of SEARCH_BATCH vectors."""
    index = _open_index(row)
    if index is None:
        raise RuntimeError(f"{field.name}: the index file {row.file_name} is not on this machine")
    # usearch's distances: "cos" is 1 - cos, "l2sq" the squared L2 distance
    limit = threshold if field.distance == "cosine" else threshold * threshold
    count = min(NEIGHBOURS + 1, len(index))
    done = 0
    for batch_ids, matrix in vector_batches(workspace=workspace_id, field=field.name, dimension=field.dimension,
                                             batch=SEARCH_BATCH):
        matches = index.search(matrix.astype(np.float32), count)
        keys = np.asarray(matches.keys, dtype=np.int64).reshape(len(batch_ids), -1)
        dist = np.asarray(matches.distances, dtype=np.float64).reshape(len(batch_ids), -1)
        source = np.repeat(batch_ids, keys.shape[1])
        keys, dist = keys.ravel(), dist.ravel()
        pos = np.searchsorted(ids, keys)
        known = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == keys)  # an item deleted since the build
        near = known & (dist <= limit + 1e-6) & (keys != source)
        yield np.stack([np.searchsorted(ids, source[near]), pos[near]]).astype(np.int64)
        done += len(batch_ids)
        if progress is not None:
            progress(40 + 50 * done // max(len(ids), 1))


def groups_by_vector(*, workspace_id: int, field: Field, threshold: float,
                     progress: Callable[[int], object] | None = None) -> dict[int, int]:
    """{item id: representative id} of the items whose `field` vectors lie within `threshold` of another's (see
    the module's docstring: exact for a small field, through the index for a large one). `progress(percent)`:
    0-40 while reading, 40-90 while comparing."""
    count = vector_count(workspace_id=workspace_id, field=field)
    if count <= settings.VECTOR_EXACT_MAX:
        parts = list(vector_batches(workspace=workspace_id, field=field.name, dimension=field.dimension,
                                    batch=SCAN_BATCH))
        if progress is not None:
            progress(40)
        if not parts:
            return {}
        ids = np.concatenate([p[0] for p in parts])
        matrix = np.concatenate([p[1] for p in parts])
        pairs = _exact_pairs(matrix, field, threshold, progress)
    else:
        row = _index_row(workspace_id, field)
        if row is None:
            raise RuntimeError(NO_INDEX.format(field=field.name, count=count, limit=settings.VECTOR_EXACT_MAX))
        ids = np.fromiter(
            Embedding.objects.filter(workspace_id=workspace_id, field=field.name).order_by("item_id")
            .values_list("item_id", flat=True).iterator(chunk_size=SCAN_BATCH), dtype=np.int64)
        if progress is not None:
            progress(40)
        pairs = _index_pairs(workspace_id, field, threshold, ids, row, progress)
    if not len(ids):
        return {}
    roots = np.arange(len(ids), dtype=np.int64)
    for block in pairs:
        roots = components(len(ids), block, roots)
    return groups_from_roots(ids, roots)

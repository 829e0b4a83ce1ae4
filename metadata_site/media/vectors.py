"""Look-alikes by an embedding field: exact search with numpy, and the approximate index (usearch) the worker keeps.

- `nearest_by_vector`: the k items of a (filtered, workspace-scoped) queryset nearest to a query vector, nearest
  first, each with its exact distance (cosine: 1 - cos, in [0, 2]; euclidean: the L2 distance).
  * Exact: the candidates' vectors are read in keyset batches of SEARCH_BATCH rows (item id order) and scored
    with one matrix product a batch; only the best k are kept, so memory is O(k + SEARCH_BATCH × dimension).
  * Approximate, when the field's index is ready and holds more than `VECTOR_EXACT_MAX` vectors: the index is
    asked for more neighbours than k (OVERFETCH × k), the hits are kept only if they are among the filtered
    candidates with a stored vector (one query on those ids, which also returns each vector's `updated_at`),
    and the request grows to what the share of candidates seen says is needed until k are found, or the exact
    scan takes over (few candidates, or a request that would cover the whole index). Each hit's exact distance
    comes from the index's float32 copy when the build stored that very version of its vector (the build's
    stamps), else from the stored vector; vectors written since the build are scored from the database and
    merged in. So a stale index can miss a neighbour but never shows a wrong distance or an item that is no
    longer a candidate (see `approximate_nearest`).
- `vector_batches`: the one reader of stored vectors into numpy (ids and a float32 matrix in batches, vectors of
  another dimension skipped), for the exact scan here, the embedding map and the near-duplicate groups.
- `vector_index_build` (a worker task): builds the index of a (workspace, field) from the stored vectors into a
  file under `VECTOR_INDEX_DIR` (with its stamps: each vector's item id and `updated_at`), replacing the previous
  one. `embeddings_written` (from `items.embeddings`)
  counts the vectors written since and queues a rebuild once they reach REBUILD_FRACTION of the index.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from metadata_site.explorer.query import FilterError
from metadata_site.items.models import Item
from metadata_site.lib.background import queue_work
from metadata_site.lib.taskmodel import TaskStatus

from .models import Embedding, VectorIndex

SEARCH_BATCH = 5000  # vectors read per query in the exact scan
EXACT_SCAN_TOO_LARGE = (
    "by={field}: more than {limit:,} items to compare exactly, and the field's index is not ready for them (it is "
    "built in the background after vectors are written): narrow the filter, or try again once the index is built."
)
OVERFETCH = 4  # the first approximate request asks for k × OVERFETCH neighbours
GROWTH = 8  # each further request asks for at most GROWTH times more ...
GROW_MARGIN = 1.5  # ... than what the share of candidates seen says is needed, × this
REBUILD_FRACTION = 0.1  # vectors written since the build, as a share of the index, that queue a rebuild
REBUILD_MIN = 1000  # ... but never fewer than this many (a small index is rebuilt at once: see `_needs_rebuild`)
BUILD_BATCH = 5000  # vectors read per query while building (10 MB at 512 dimensions)
CONNECTIVITY = 16
EXPANSION_ADD = 128
# 512, not 256: at 1,000,000 clustered 512-d vectors one query in 21 reached none of its true neighbours with
# 256 (recall 0), and all did with 512 (bench/README.md); a request asking for more neighbours searches wider still
EXPANSION_SEARCH = 512
_METRICS = {"cosine": "cos", "euclidean": "l2sq"}


@dataclass(frozen=True)
class Field:
    name: str
    dimension: int
    distance: str  # cosine | euclidean


def unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")


def distances(matrix: np.ndarray, query: np.ndarray, distance: str) -> np.ndarray:
    """The distance of each row of `matrix` to `query` (float64)."""
    m = matrix.astype(np.float64, copy=False)
    q = query.astype(np.float64)
    if distance == "cosine":
        norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(norms > 0, (m @ q) / norms, 0.0)
        return 1.0 - cos
    return np.linalg.norm(m - q, axis=1)


def _top(heap: list[tuple[float, int]], ids: np.ndarray, dist: np.ndarray, k: int) -> None:
    """Keep in `heap` (entries (-distance, -id): the worst kept on top) the k best of itself and (ids, dist)."""
    if len(ids) > k:
        part = np.argpartition(dist, k - 1)[:k]
        ids, dist = ids[part], dist[part]
    for pk, d in zip(ids.tolist(), dist.tolist(), strict=True):
        entry = (-d, -pk)
        if len(heap) < k:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)


def _any(ids: list[int], queryset: models.QuerySet):
    """A `__in` value for many ids: on PostgreSQL one array parameter (`IN (SELECT unnest(%s))`), since building,
    sending and planning thousands of separate parameters cost more than the indexed lookup itself (measured:
    most of a 1,000-id membership query); the plain list elsewhere."""
    if connections[queryset.db].vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
    return ids


def _matrix(vectors: list[bytes], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of the field's dimension as a matrix, and which of the given rows they are (a vector stored
    under an earlier declaration with another dimension is skipped)."""
    size = dimension * 4
    keep = np.fromiter((len(v) == size for v in vectors), dtype=bool, count=len(vectors))
    data = b"".join(bytes(v) for v, ok in zip(vectors, keep.tolist(), strict=True) if ok)
    return np.frombuffer(data, dtype="<f4").reshape(-1, dimension), keep


class ScanTooLarge(Exception):
    """`vector_batches` was about to read past its `scan_max`."""


def _pk_batches(rows: models.QuerySet, batch: int) -> Iterator[list[int]]:
    """The ids of `rows` in keyset batches of `batch`, in id order."""
    last = 0
    while True:
        ids = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if ids:
            yield ids
        if len(ids) < batch:
            return
        last = ids[-1]


def vector_batches(
    *, workspace, field: str, dimension: int, batch: int, ids: Sequence[int] | None = None,
    candidates: models.QuerySet | None = None, scan_max: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(item ids as int64, their vectors as a float32 matrix, one row an id) of the embedding `field` of
    `workspace` (a Workspace or its id), at most `batch` rows a query, in item id order within a batch: every
    vector of the field (keyset batches), or only those of the items `ids` (`batch` of them at a time, in the
    given order), or only those of the items of `candidates` (the candidates' own keyset page, then the vectors of
    those ids: two plain queries a batch rather than one join, so the plan never depends on the planner's guess of
    how many items a filter keeps). A vector of another size than `dimension` (stored under an earlier declaration)
    is skipped, and a batch left with none is not yielded; memory is O(batch × dimension). With `scan_max`,
    ScanTooLarge is raised in place of the batch that takes the ids read (candidates, or vectors) past it."""
    if ids is not None and candidates is not None:
        raise ValueError("vector_batches: give ids or candidates, not both")
    rows = Embedding.objects.filter(workspace=workspace, field=field)
    scanned = 0
    if ids is None and candidates is None:
        last = 0
        while True:
            chunk = list(rows.filter(item_id__gt=last).order_by("item_id").values_list("item_id", "vector")[:batch])
            scanned += len(chunk)
            if scan_max is not None and scanned > scan_max:
                raise ScanTooLarge
            if chunk:
                yield from _as_batch(chunk, dimension)
            if len(chunk) < batch:
                return
            last = chunk[-1][0]
    if candidates is not None:
        pages: Iterator[Sequence[int]] = _pk_batches(candidates, batch)
    else:
        pages = (ids[start:start + batch] for start in range(0, len(ids), batch))
    for page in pages:
        scanned += len(page)
        if scan_max is not None and scanned > scan_max:
            raise ScanTooLarge
        chunk = list(rows.filter(item_id__in=_any(list(page), rows)).order_by("item_id")
                     .values_list("item_id", "vector"))
        if chunk:
            yield from _as_batch(chunk, dimension)


def _as_batch(chunk: list[tuple[int, bytes]], dimension: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    matrix, keep = _matrix([v for _, v in chunk], dimension)
    if len(matrix):
        ids = np.fromiter((pk for pk, _ in chunk), dtype=np.int64, count=len(chunk))
        yield ids[keep], matrix


def exact_nearest(
    *, workspace, field: Field, query: np.ndarray, k: int, candidates: models.QuerySet | None
) -> list[tuple[float, int]]:
    """[(distance, item id)] of the k candidates nearest to `query`, nearest first (ties by id)."""
    heap: list[tuple[float, int]] = []
    batches = vector_batches(workspace=workspace, field=field.name, dimension=field.dimension, batch=SEARCH_BATCH,
                             candidates=candidates, scan_max=settings.VECTOR_EXACT_SCAN_MAX)
    try:
        for ids, matrix in batches:
            _top(heap, ids, distances(matrix, query, field.distance), k)
    except ScanTooLarge:  # a request never reads vectors without bound
        raise FilterError(EXACT_SCAN_TOO_LARGE.format(field=field.name, limit=settings.VECTOR_EXACT_SCAN_MAX),
                          param="by") from None
    return sorted((-d, -pk) for d, pk in heap)


def _rescored(workspace, field: Field, query: np.ndarray, ids: list[int]) -> list[tuple[float, int]]:
    """[(exact distance, id)] of these items from their stored vectors (an item without one is left out)."""
    found = []
    for kept, matrix in vector_batches(workspace=workspace, field=field.name, dimension=field.dimension,
                                       batch=SEARCH_BATCH, ids=ids):
        found += zip(distances(matrix, query, field.distance).tolist(), kept.tolist(), strict=True)
    return found


# --- the approximate index ---------------------------------------------------------------------------

_loaded: dict[str, object] = {}  # file name -> usearch Index or its stamps (memory-mapped views), per process


def _index_dir() -> Path:
    return Path(settings.VECTOR_INDEX_DIR)


def _open(row: VectorIndex):
    """The built index of `row`, memory-mapped (shared by the processes reading it), or None when its file is
    missing (another machine's worker built it: then the exact scan answers)."""
    from usearch.index import Index

    index = _loaded.get(row.file_name)
    if index is None:
        path = _index_dir() / row.file_name
        if not path.exists():
            return None
        index = Index.restore(str(path), view=True)
        if index is None:
            return None
        index.expansion_search = EXPANSION_SEARCH
        for name in [n for n in _loaded if n.split("/")[0] == row.file_name.split("/")[0]]:
            _loaded.pop(name)  # an older build of the same field
        _loaded[row.file_name] = index
    return index


def _stamps_name(file_name: str) -> str:
    return file_name + ".stamps.npy"


def _stamps(row: VectorIndex) -> np.ndarray | None:
    """The build's (item id, the vector's `updated_at` in µs) rows, id order, memory-mapped (16 B a vector); None
    for a file built before they were kept (then every hit is rescored from its stored vector)."""
    stamps = _loaded.get(_stamps_name(row.file_name))
    if stamps is None:
        path = _index_dir() / _stamps_name(row.file_name)
        if not path.exists():
            return None
        stamps = np.load(path, mmap_mode="r")
        _loaded[_stamps_name(row.file_name)] = stamps
    return stamps  # type: ignore[return-value]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    """A stored `updated_at` as whole microseconds since 1970 (integer arithmetic: the same moment, the same
    number, in the build and in every request)."""
    return (moment - (_EPOCH if moment.tzinfo else _EPOCH.replace(tzinfo=None))) // timedelta(microseconds=1)


def _from_index(index, stamps: np.ndarray | None, hits: dict[int, int], field: Field, query: np.ndarray):
    """[(exact distance, id)] of the hits (id -> its stored vector's `updated_at` in µs) whose vector in the index
    is the stored one (the build saw this very version), scored from the index's float32 copy; and the ids whose
    vector changed since (to be read from the database)."""
    if stamps is None or not hits:
        return [], list(hits)
    ids = np.fromiter(hits, dtype=np.int64, count=len(hits))
    at = np.minimum(np.searchsorted(stamps[:, 0], ids), len(stamps) - 1)
    same = (stamps[at, 0] == ids) & (stamps[at, 1] == np.fromiter(hits.values(), dtype=np.int64, count=len(hits)))
    same_ids = ids[same]
    if not len(same_ids):
        return [], list(hits)
    found = index.get(same_ids.astype(np.uint64), dtype=np.float32)
    rows = list(found) if isinstance(found, tuple) else list(found.reshape(len(same_ids), -1))
    missing = [int(pk) for pk, v in zip(same_ids.tolist(), rows, strict=True) if v is None]
    good = [(int(pk), v) for pk, v in zip(same_ids.tolist(), rows, strict=True) if v is not None]
    scored = []
    if good:
        matrix = np.stack([v for _, v in good])
        scored = list(zip(distances(matrix, query, field.distance).tolist(), [pk for pk, _ in good], strict=True))
    return scored, [int(pk) for pk in ids[~same].tolist()] + missing


def approximate_nearest(
    *, workspace, field: Field, query: np.ndarray, k: int, candidates: models.QuerySet, row: VectorIndex
) -> list[tuple[float, int]] | None:
    """As `exact_nearest`, through the index of `row`; None when the exact scan must answer (no index file, the
    index far behind, or a filter keeping so few items that scanning them is the better plan).

    The index is asked for OVERFETCH × k neighbours; their membership of the candidates (and their stored vector's
    `updated_at`) is one indexed query on those ids; while fewer than k are candidates, the request grows to what
    the share of candidates seen so far says is needed (only the new ids are asked about). Each kept hit is scored
    exactly: from the index's float32 copy when the build stored that very version of its vector (the stamps),
    else from the database; the vectors written since the build are found by one indexed probe and scored from
    the database too. So a stale index may miss a neighbour but never shows a wrong distance or a non-candidate."""
    index = _open(row)
    if index is None or len(index) == 0:
        return None
    fresh_ids = list(Embedding.objects.filter(workspace=workspace, field=field.name, updated_at__gte=row.built_at)
                     .values_list("item_id", flat=True)[: SEARCH_BATCH + 1])
    if len(fresh_ids) > SEARCH_BATCH:
        return None  # the index is far behind (its rebuild is queued): the exact scan is right
    q32 = query.astype(np.float32)
    checked: dict[int, int | None] = {}  # id -> its vector's updated_at (µs) when a candidate with a vector, else None
    count = min(len(index), k * OVERFETCH)
    while True:
        keys = [int(key) for key in index.search(q32, count).keys]
        new = [key for key in keys if key not in checked]
        for key in new:
            checked[key] = None
        if new:
            rows = candidates.order_by().filter(pk__in=_any(new, candidates), embeddings__field=field.name).values_list(
                "pk", "embeddings__updated_at")
            for pk, updated in rows:
                checked[pk] = _micros(updated)
        hits = [key for key in keys if checked[key] is not None]
        if len(hits) >= k or count >= len(index):
            break
        share = (len(hits) + 1) / len(keys)  # of the neighbours seen, how many are candidates (an upper guess)
        if len(index) * share <= settings.VECTOR_EXACT_MAX:
            return None  # few candidates: scanning them exactly is cheap, and exact
        wanted = int(k / share * GROW_MARGIN)
        count = min(max(wanted, count * 2), count * GROWTH)
        if count >= len(index):
            return None  # the filter keeps few of the neighbours: scan the candidates instead
    scored, from_db = _from_index(index, _stamps(row), {pk: checked[pk] for pk in hits[: k * 2]}, field, query)
    if fresh_ids:
        fresh_ids = list(candidates.order_by().filter(pk__in=_any(fresh_ids, candidates)).values_list("pk", flat=True))
    found = dict((pk, d) for d, pk in scored)
    for d, pk in _rescored(workspace, field, query, list(dict.fromkeys(from_db + fresh_ids))):
        found[pk] = d
    return sorted((d, pk) for pk, d in found.items())[:k]


def field_of(spec) -> Field:
    return Field(name=spec.name, dimension=spec.dimension, distance=spec.distance)


def nearest_by_vector(
    candidates: models.QuerySet, *, workspace, field: Field, query: np.ndarray, k: int
) -> list[tuple[float, int]]:
    """[(distance, item id)] of the k items of `candidates` nearest to `query`, nearest first: through the
    field's index when it is ready and large (see the module's docstring), else exactly."""
    row = VectorIndex.objects.filter(workspace=workspace, field=field.name, file_name__gt="",
                                     dimension=field.dimension, metric=field.distance).first()
    if row is not None and row.size > settings.VECTOR_EXACT_MAX and row.built_at is not None:
        found = approximate_nearest(workspace=workspace, field=field, query=query, k=k, candidates=candidates, row=row)
        if found is not None:
            return found
    return exact_nearest(workspace=workspace, field=field, query=query, k=k, candidates=candidates)


def query_vector(*, workspace, field: Field, item: Item) -> np.ndarray | None:
    data = Embedding.objects.filter(workspace=workspace, field=field.name, item=item).values_list("vector", flat=True).first()
    if data is None or len(data) != field.dimension * 4:
        return None
    return unpack(data)


# --- building the index in the worker -------------------------------------------------------------


def _file_name(workspace_id: int, field: str) -> str:
    digest = hashlib.sha256(field.encode()).hexdigest()[:16]
    return f"{workspace_id}-{digest}/{time.time_ns()}.usearch"


def vector_index_queue(*, workspace_id: int, field: str) -> None:
    """Mark the field's index build queued and queue it with the caller's transaction (nothing if one is queued)."""
    with transaction.atomic():
        row, created = VectorIndex.objects.select_for_update().get_or_create(workspace_id=workspace_id, field=field)
        if not created and row.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
            return  # the queued build reads the new vectors; a running one leaves them fresh (scored exactly)
        VectorIndex.objects.filter(pk=row.pk).update(
            status=TaskStatus.QUEUED, done=0, created_at=timezone.now(), started_at=None, finished_at=None,
            heartbeat_at=None, failure_reason="")
        queue_work(row)


def _needs_rebuild(row: VectorIndex | None) -> bool:
    if row is None or row.built_at is None:
        return True
    return row.dirty >= max(REBUILD_MIN, row.size * REBUILD_FRACTION)


def embeddings_changed(*, workspace_id: int, counts: dict[str, int]) -> None:
    """Vectors were written: count them against each field's index and queue the rebuilds that are due."""
    for name, n in counts.items():
        VectorIndex.objects.filter(workspace_id=workspace_id, field=name).update(dirty=F("dirty") + n)
        row = VectorIndex.objects.filter(workspace_id=workspace_id, field=name).first()
        if _needs_rebuild(row):
            vector_index_queue(workspace_id=workspace_id, field=name)


def index_build(*, workspace_id: int, field: str, progress=None) -> VectorIndex | None:
    """Build the field's index from its stored vectors (keyset batches) and make it the current one."""
    from usearch.index import Index

    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    spec = schema_current(workspace=workspace).embedding(field) if workspace else None
    rows = VectorIndex.objects.filter(workspace_id=workspace_id, field=field)
    if spec is None:
        rows.delete()
        return None
    VectorIndex.objects.get_or_create(workspace_id=workspace_id, field=field)
    started, dirty_before = timezone.now(), rows.values_list("dirty", flat=True).first()
    rows.update(status=TaskStatus.RUNNING, done=0, started_at=started, heartbeat_at=started)
    index = Index(ndim=spec.dimension, metric=_METRICS[spec.distance], dtype="f32", connectivity=CONNECTIVITY,
                  expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
    source = Embedding.objects.filter(workspace_id=workspace_id, field=field)
    total = max(source.count(), 1)
    last = 0
    stamps: list[np.ndarray] = []  # (id, updated_at µs) of each vector added: which version the index holds
    while True:
        chunk = list(source.filter(item_id__gt=last).order_by("item_id")
                     .values_list("item_id", "vector", "updated_at")[:BUILD_BATCH])
        if not chunk:
            break
        ids = np.fromiter((pk for pk, _, _ in chunk), dtype=np.uint64, count=len(chunk))
        matrix, keep = _matrix([v for _, v, _ in chunk], spec.dimension)
        if len(matrix):
            index.add(ids[keep], matrix)
            stamps.append(np.column_stack([
                ids[keep].astype(np.int64),
                np.fromiter((_micros(at) for (_, _, at), ok in zip(chunk, keep.tolist(), strict=True) if ok),
                            dtype=np.int64, count=int(keep.sum()))]))
        last = chunk[-1][0]
        if progress is not None:
            progress(min(95, 95 * len(index) // total))
        if len(chunk) < BUILD_BATCH:
            break
    name = _file_name(workspace_id, field)
    path = _index_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    index.save(str(path))
    np.save(_index_dir() / _stamps_name(name),
            np.concatenate(stamps) if stamps else np.zeros((0, 2), dtype=np.int64), allow_pickle=False)
    old = rows.values_list("file_name", flat=True).first()
    rows.update(status=TaskStatus.COMPLETED, done=100, size=len(index), dimension=spec.dimension,
                metric=spec.distance, file_name=name, built_at=started, dirty=F("dirty") - dirty_before,
                failure_reason="", finished_at=timezone.now())
    if old and old != name:
        for stale in (old, _stamps_name(old)):
            try:
                os.remove(_index_dir() / stale)
            except OSError:
                pass  # a process may still map it (POSIX keeps the data until it unmaps); another build removed it
    return rows.first()

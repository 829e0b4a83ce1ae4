"""The embedding map: a 2-D projection of an embedding field's vectors, built in the background, and its points.

- `map_queue`: mark the (workspace, field, method) map queued and queue its build (`tasks.embedding_map_build`).
- `map_build` (the worker's task body): reads the field's vectors in keyset batches of READ_BATCH rows and
  * PCA (the default): pass 1 accumulates the sum and the scatter matrix (float64, dimension × dimension), whose
    top two eigenvectors are the axes; pass 2 projects batch by batch. Memory O(READ_BATCH × dimension +
    dimension²) beyond the coordinates (16 bytes a point).
  * UMAP (umap-learn): fitted on a deterministic random sample of at most UMAP_FIT_MAX vectors, then the others
    `transform`ed batch by batch (no vector matrix of the whole field in memory either).
  Vectors of a cosine field are normalised to unit length first (the map shows angles, as the distance does).
  The points replace the previous build's in one transaction (`MapPoint`), so a reader sees one build or the
  other, never a mix; progress is written on the map's row as it goes.
- `map_points`: the points of a map for the page, optionally inside a box, under the explorer's filters,
  coloured by an enum or number field: at most POINTS_MAX (a deterministic sample by a hash of the item id,
  `MapPoint.sample`, whose threshold comes from the map's stored count grid, so no count query is needed).

The explorer's filter ``$map:box:<field>/<method>/<x0>,<y0>,<x1>,<y1>`` (`explorer.query`) reads `MapPoint`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone

from metadata_site.explorer import query as fl
from metadata_site.lib.background import queue_work
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

from . import umap_child
from .models import Embedding, EmbeddingMap, MapMethod, MapPoint
from .vectors import vector_batches

READ_BATCH = 5000  # vectors read per query (10 MB at 512 dimensions)
WRITE_BATCH = 5000  # points inserted per statement on SQLite (PostgreSQL copies them)
UMAP_FIT_MAX = 20_000  # vectors UMAP is fitted on; the others are placed by `transform`
GRID = 64  # the count grid stored on the map (GRID × GRID cells over its bounds)
SAMPLE_BITS = 20
SAMPLE_SPACE = 1 << SAMPLE_BITS  # MapPoint.sample is in [0, SAMPLE_SPACE)
POINTS_MAX = 200_000  # points one request returns at most
METHODS = tuple(MapMethod.values)

NO_FIELD = "field: {value!r} is not an embedding field of the schema"
BAD_METHOD = "method: {value!r} is not a map method (one of: {methods})"
BAD_COLOUR = "color: {value!r} is not an enum, integer or float field of the schema"
BAD_BOX = "box: {value!r} is not four finite numbers x0,y0,x1,y1"
NO_VECTORS = "the field {field!r} has no {dimension}-d vectors to map"
NOT_BUILT = "the {method} map of {field!r} is not built yet"
UMAP_MISSING = "UMAP needs the umap-learn package, which is not installed on the worker"
UMAP_CHILD_DIED = "the UMAP process stopped before the map was done (out of memory?); PCA needs far less"


class MapError(Exception):
    """A request or a build the map cannot serve, with the reason (and the parameter it is about)."""

    def __init__(self, message: str, *, param: str = ""):
        super().__init__(message)
        self.message, self.param = message, param


# --- input ----------------------------------------------------------------------------------------


def embedding_spec(schema: Schema, name: str | None) -> FieldSpec:
    spec = schema.embedding(name or "")
    if spec is None:
        raise MapError(NO_FIELD.format(value=(name or "")[:100]), param="field")
    return spec


def parse_method(raw: str | None) -> str:
    method = raw or MapMethod.PCA
    if method not in METHODS:
        raise MapError(BAD_METHOD.format(value=method[:50], methods=", ".join(METHODS)), param="method")
    return method


def colour_spec(schema: Schema, name: str | None) -> FieldSpec | None:
    """The field points are coloured by (an enum, an integer or a float field), None for none."""
    if not name:
        return None
    spec = schema.get(name)
    if spec is None or spec.is_multi_enum or spec.type not in (FieldType.ENUM, FieldType.INTEGER, FieldType.FLOAT):
        raise MapError(BAD_COLOUR.format(value=name[:100]), param="color")
    return spec


def parse_box(raw: str | None) -> tuple[float, float, float, float] | None:
    """``x0,y0,x1,y1`` (any corner order) as (x_min, y_min, x_max, y_max); None when absent."""
    if not raw:
        return None
    parts = raw.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise MapError(BAD_BOX.format(value=raw[:100]), param="box") from None
    if not all(np.isfinite([x0, y0, x1, y1])):
        raise MapError(BAD_BOX.format(value=raw[:100]), param="box")
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


# --- the projection ---------------------------------------------------------------------------------


def sample_of(ids: np.ndarray) -> np.ndarray:
    """A hash of each item id in [0, SAMPLE_SPACE) (Fibonacci hashing: the top bits of id × 2⁶⁴/φ)."""
    with np.errstate(over="ignore"):
        mixed = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (mixed >> np.uint64(64 - SAMPLE_BITS)).astype(np.int64)


def prepare(matrix: np.ndarray, distance: str) -> np.ndarray:
    """The vectors as the map sees them (float64): unit length for a cosine field (a zero vector stays zero)."""
    m = matrix.astype(np.float64)
    if distance == "cosine":
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        m = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    return m


def pca_axes(batches: Iterator[np.ndarray], dimension: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, the two principal axes as a dimension × 2 matrix, the number of vectors) of the vectors given in
    batches, from their sum and scatter matrix. Each axis's sign is fixed (its largest component positive), so a
    rebuild of the same vectors draws the same map."""
    n, total, scatter = 0, np.zeros(dimension), np.zeros((dimension, dimension))
    for m in batches:
        n += len(m)
        total += m.sum(axis=0)
        scatter += m.T @ m
    if n == 0:
        return np.zeros(dimension), np.zeros((dimension, 2)), 0
    mean = total / n
    covariance = (scatter - n * np.outer(mean, mean)) / max(n - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    axes = vectors[:, np.argsort(values)[::-1][:2]]
    if axes.shape[1] < 2:  # a 1-d field: the second axis is flat
        axes = np.hstack([axes, np.zeros((dimension, 2 - axes.shape[1]))])
    for j in range(2):
        if axes[np.argmax(np.abs(axes[:, j])), j] < 0:
            axes[:, j] = -axes[:, j]
    return mean, axes, n


def pca_project(matrix: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return (matrix - mean) @ axes


def _vector_batches(workspace_id: int, spec: FieldSpec, *, ids: list[int] | None = None
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(item ids, prepared vectors) of the field in keyset batches of READ_BATCH (item id order), or of the items
    `ids` only; a vector stored under another dimension is skipped (`vectors.vector_batches`)."""
    for found, matrix in vector_batches(workspace=workspace_id, field=spec.name, dimension=spec.dimension,
                                        batch=READ_BATCH, ids=ids):
        yield found, prepare(matrix, spec.distance)


def _pca(workspace_id: int, spec: FieldSpec, total: int, progress: Callable[[int], None]):
    seen = 0

    def first_pass():
        nonlocal seen
        for ids, m in _vector_batches(workspace_id, spec):
            seen += len(ids)
            progress(5 + 40 * seen // total)
            yield m

    mean, axes, n = pca_axes(first_pass(), spec.dimension)
    if n == 0:
        return None
    parts_ids, parts_xy, done = [], [], 0
    for ids, m in _vector_batches(workspace_id, spec):
        parts_ids.append(ids)
        parts_xy.append(pca_project(m, mean, axes))
        done += len(ids)
        progress(45 + 40 * done // total)
    return np.concatenate(parts_ids), np.concatenate(parts_xy)


def _umap(workspace_id: int, spec: FieldSpec, total: int, progress: Callable[[int], None]):
    import importlib.util
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if importlib.util.find_spec("umap") is None:
        raise MapError(UMAP_MISSING)
    all_ids = np.fromiter(Embedding.objects.filter(workspace_id=workspace_id, field=spec.name)
                          .order_by("item_id").values_list("item_id", flat=True).iterator(chunk_size=READ_BATCH),
                          dtype=np.int64)
    if len(all_ids) > UMAP_FIT_MAX:
        fit_ids = np.sort(np.asarray(random.Random(22).sample(all_ids.tolist(), UMAP_FIT_MAX), dtype=np.int64))
    else:
        fit_ids = all_ids
    del all_ids
    # float32: what UMAP computes in anyway (its `check_array`), half the memory here and in the pipe to the child
    fitted = [(ids, m.astype(np.float32)) for ids, m in _vector_batches(workspace_id, spec, ids=fit_ids.tolist())]
    if not fitted:
        return None
    ids_fit = np.concatenate([ids for ids, _ in fitted])
    matrix = np.concatenate([m for _, m in fitted])
    del fitted
    progress(10)
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as child:
            xy_fit = child.submit(umap_child.fit, matrix).result()
            del matrix
            progress(50)
            parts_ids, parts_xy = [ids_fit], [xy_fit]
            done = len(ids_fit)
            for ids, m in _vector_batches(workspace_id, spec):
                keep = ~np.isin(ids, ids_fit, assume_unique=True)
                if keep.any():
                    parts_ids.append(ids[keep])
                    parts_xy.append(child.submit(umap_child.transform, m[keep].astype(np.float32)).result())
                    done += int(keep.sum())
                    progress(50 + 35 * done // total)
    except BrokenProcessPool:
        raise MapError(UMAP_CHILD_DIED) from None
    ids, xy = np.concatenate(parts_ids), np.concatenate(parts_xy)
    order = np.argsort(ids)
    return ids[order], xy[order]


def _bounds(xy: np.ndarray) -> tuple[float, float, float, float]:
    x_min, y_min = xy.min(axis=0)
    x_max, y_max = xy.max(axis=0)
    if x_max - x_min < 1e-9:
        x_min, x_max = x_min - 0.5, x_max + 0.5
    if y_max - y_min < 1e-9:
        y_min, y_max = y_min - 0.5, y_max + 0.5
    return float(x_min), float(y_min), float(x_max), float(y_max)


def count_grid(xy: np.ndarray, bounds: tuple[float, float, float, float]) -> list[int]:
    x_min, y_min, x_max, y_max = bounds
    counts, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=GRID, range=[[y_min, y_max], [x_min, x_max]])
    return [int(c) for c in counts.ravel()]


def _replace_points(row: EmbeddingMap, ids: np.ndarray, xy: np.ndarray) -> None:
    """The map's points become these (old ones deleted, new ones inserted, in the caller's transaction)."""
    MapPoint.objects.filter(map=row).delete()
    samples = sample_of(ids)
    # In the order of `sample`: the sampled read of the whole map (the lowest samples) then reads adjacent rows.
    order = np.argsort(samples, kind="stable")
    ids, xy, samples = ids[order], xy[order], samples[order]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
                "COPY media_mappoint (map_id, item_id, x, y, sample) FROM STDIN") as copy:
            # Python objects a chunk at a time (a million points as lists of tuples would be ~150 MB).
            for start in range(0, len(ids), WRITE_BATCH):
                end = start + WRITE_BATCH
                for pk, (x, y), s in zip(ids[start:end].tolist(), xy[start:end].tolist(),
                                         samples[start:end].tolist(), strict=True):
                    copy.write_row((row.pk, pk, x, y, s))
        return
    for start in range(0, len(ids), WRITE_BATCH):
        end = start + WRITE_BATCH
        MapPoint.objects.bulk_create(
            MapPoint(map_id=row.pk, item_id=pk, x=x, y=y, sample=s)
            for pk, (x, y), s in zip(ids[start:end].tolist(), xy[start:end].tolist(), samples[start:end].tolist(),
                                     strict=True))


def map_build(*, map_id: int) -> EmbeddingMap | None:
    """Build the map `map_id` (the worker's task body): project its field's vectors by its method and replace its
    points. Progress is written on the row as it goes; a MapError (no field, no vectors) says why it failed."""
    from metadata_site.schemas.selectors import schema_current

    row = EmbeddingMap.objects.select_related("workspace").filter(pk=map_id).first()
    if row is None:
        return None
    rows = EmbeddingMap.objects.filter(pk=map_id)
    started = time.monotonic()
    rows.update(status=TaskStatus.RUNNING, done=0, started_at=timezone.now(), heartbeat_at=timezone.now(),
                failure_reason="", finished_at=None)
    spec = embedding_spec(schema_current(workspace=row.workspace), row.field)
    parse_method(row.method)
    total = max(Embedding.objects.filter(workspace_id=row.workspace_id, field=spec.name).count(), 1)

    def progress(percent: int) -> None:
        rows.update(done=min(percent, 99), heartbeat_at=timezone.now())

    build = _umap if row.method == MapMethod.UMAP else _pca
    found = build(row.workspace_id, spec, total, progress)
    if found is None or not len(found[0]):
        raise MapError(NO_VECTORS.format(field=spec.name, dimension=spec.dimension))
    ids, xy = found
    bounds = _bounds(xy)
    progress(90)
    with transaction.atomic():
        _replace_points(row, ids, xy)
        rows.update(status=TaskStatus.COMPLETED, done=100, size=len(ids), dimension=spec.dimension,
                    x_min=bounds[0], y_min=bounds[1], x_max=bounds[2], y_max=bounds[3],
                    grid=count_grid(xy, bounds), built_at=timezone.now(), finished_at=timezone.now(),
                    seconds=round(time.monotonic() - started, 3))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics: the sampled read's plan depends on them
            cursor.execute("ANALYZE media_mappoint")
    return rows.first()


def map_queue(*, workspace, field: str, method: str, user=None) -> EmbeddingMap:
    """Queue the (re)build of the (field, method) map of `workspace` (nothing more when one is queued or running);
    MapError for a field that is not an embedding field or an unknown method."""
    from metadata_site.schemas.selectors import schema_current

    spec = embedding_spec(schema_current(workspace=workspace), field)
    method = parse_method(method)
    with transaction.atomic():
        row, created = EmbeddingMap.objects.select_for_update().get_or_create(
            workspace=workspace, field=spec.name, method=method)
        if not created and row.is_active:
            return row
        EmbeddingMap.objects.filter(pk=row.pk).update(
            status=TaskStatus.QUEUED, done=0, created_by=user, created_at=timezone.now(), started_at=None,
            finished_at=None, heartbeat_at=None, failure_reason="")
        row.refresh_from_db()
        queue_work(row)
    return row


def map_for(*, workspace, field: str, method: str) -> EmbeddingMap | None:
    return EmbeddingMap.objects.filter(workspace=workspace, field=field, method=method).first()


# --- the points of a request -----------------------------------------------------------------------


@dataclass
class Points:
    """What the points endpoint sends: coordinates (float32), item ids (int32), colour codes (uint8: 0 unset, an
    enum's option index + 1, or a number's place in [low, high] as 1-255), and how they were chosen."""

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    colours: np.ndarray
    estimate: int  # the map's points in the box (an upper bound from the grid)
    sampled: bool
    low: float | None = None  # a number colour's range
    high: float | None = None

    def to_bytes(self) -> bytes:
        return self.x.tobytes() + self.y.tobytes() + self.ids.tobytes() + self.colours.tobytes()


def box_estimate(row: EmbeddingMap, box: tuple[float, float, float, float] | None) -> int:
    """How many of the map's points lie in `box` at most: the counts of the grid cells it touches."""
    if box is None or not row.grid:
        return row.size
    width = (row.x_max - row.x_min) / GRID
    height = (row.y_max - row.y_min) / GRID
    x0 = int(np.clip(np.floor((box[0] - row.x_min) / width), 0, GRID - 1))
    x1 = int(np.clip(np.floor((box[2] - row.x_min) / width), 0, GRID - 1))
    y0 = int(np.clip(np.floor((box[1] - row.y_min) / height), 0, GRID - 1))
    y1 = int(np.clip(np.floor((box[3] - row.y_min) / height), 0, GRID - 1))
    if box[2] < row.x_min or box[0] > row.x_max or box[3] < row.y_min or box[1] > row.y_max:
        return 0
    grid = np.asarray(row.grid, dtype=np.int64).reshape(GRID, GRID)
    return int(grid[y0:y1 + 1, x0:x1 + 1].sum())


def map_points(row: EmbeddingMap, *, box: tuple[float, float, float, float] | None = None,
               items: models.QuerySet | None = None, colour: FieldSpec | None = None,
               limit: int | None = None) -> Points:
    """The map's points (in `box`, of the items of `items` when given: the explorer's filtered queryset), at most
    about `limit` of them: when the box holds more, those whose `sample` is below limit/estimate of the space. The
    sample is taken over the map's points, then the filter applied (a filter that keeps a third of the items shows a
    third of the sample; zooming in reads denser), so a request never probes more than about `limit` items."""
    limit = limit or POINTS_MAX
    estimate = box_estimate(row, box)
    base = MapPoint.objects.filter(map=row)
    if box is not None:
        base = base.filter(x__gte=box[0], x__lte=box[2], y__gte=box[1], y__lte=box[3])
    if items is not None:
        base = base.filter(item__in=items.values("pk"))
    fields = ["x", "y", "item_id"]
    if colour is not None:
        base = base.annotate(colour=fl.FieldValue(colour, column="item__client_metadata"))
        fields.append("colour")
    threshold = SAMPLE_SPACE if estimate <= limit else max(1, SAMPLE_SPACE * limit // estimate)

    def read(threshold: int) -> Columns:
        points = base.filter(sample__lt=threshold) if threshold < SAMPLE_SPACE else base
        points = points.values_list(*fields)[: limit * 2]  # a sample's size varies a little around `limit`
        return _read_copy(points, colour) if connection.vendor == "postgresql" else _read_rows(points, colour)

    x, y, ids, raw = read(threshold)
    n = len(ids)
    result = Points(x, y, ids, np.zeros(n, dtype=np.uint8), estimate, threshold < SAMPLE_SPACE)
    if raw is None or not n:
        return result
    if colour.type == FieldType.ENUM:
        result.colours = raw.astype(np.uint8)
        return result
    present = ~np.isnan(raw)
    if present.any():
        low, high = float(raw[present].min()), float(raw[present].max())
        span = high - low if high > low else 1.0
        codes = np.zeros(n, dtype=np.uint8)
        codes[present] = 1 + np.round((raw[present] - low) / span * 254).astype(np.uint8)
        result.colours, result.low, result.high = codes, low, high
    return result


# x, y (float32), item ids (int32), and the colour field's values: an enum's option number (1-based, 0 unset), a
# number (float64, NaN unset), or None without a colour field.
Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


def _options(colour: FieldSpec) -> list[str]:
    return list(colour.options[:255])


def _read_rows(points: models.QuerySet, colour: FieldSpec | None) -> Columns:
    """The points through the ORM, row by row (SQLite)."""
    rows = list(points)
    n = len(rows)
    x = np.fromiter((r[0] for r in rows), dtype=np.float32, count=n)
    y = np.fromiter((r[1] for r in rows), dtype=np.float32, count=n)
    ids = np.fromiter((r[2] for r in rows), dtype=np.int32, count=n)
    if colour is None:
        return x, y, ids, None
    if colour.type == FieldType.ENUM:
        codes = {option: i + 1 for i, option in enumerate(_options(colour))}
        return x, y, ids, np.fromiter((codes.get(r[3], 0) for r in rows), dtype=np.int16, count=n)
    return x, y, ids, np.fromiter((np.nan if r[3] is None else r[3] for r in rows), dtype=np.float64, count=n)


_COPY_HEADER = 19  # PGCOPY signature (11), flags (4), header extension length (4)


def _read_copy(points: models.QuerySet, colour: FieldSpec | None) -> Columns:
    """The points through one ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` (PostgreSQL): every column is cast to a
    fixed size and never NULL, so each row has the same layout and numpy reads them all at once, with no Python
    object a row (200,000 points: 13 bytes each instead of a tuple each)."""
    sql, params = points.query.sql_with_params()
    columns = ["s.x::float4", "s.y::float4", "s.item_id::int4"]
    params = list(params)  # the subquery's, after the select list's own
    dtype = [("n", ">i2"), ("lx", ">i4"), ("x", ">f4"), ("ly", ">i4"), ("y", ">f4"), ("li", ">i4"), ("id", ">i4")]
    if colour is not None and colour.type == FieldType.ENUM:
        columns.append("COALESCE(array_position(%s::text[], s.colour::text), 0)::int2")
        params.insert(0, _options(colour))
        dtype += [("lc", ">i4"), ("c", ">i2")]
    elif colour is not None:
        columns.append("COALESCE(s.colour, 'NaN')::float8")
        dtype += [("lc", ">i4"), ("c", ">f8")]
    statement = f"COPY (SELECT {', '.join(columns)} FROM ({sql}) s) TO STDOUT (FORMAT binary)"
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for chunk in copy:
            buffer += chunk
    rows = np.frombuffer(bytes(buffer[_COPY_HEADER:-2]), dtype=np.dtype(dtype))  # the trailer is one int16 (-1)
    raw = None
    if colour is not None:
        raw = rows["c"].astype(np.int16 if colour.type == FieldType.ENUM else np.float64)
    return rows["x"].astype(np.float32), rows["y"].astype(np.float32), rows["id"].astype(np.int32), raw

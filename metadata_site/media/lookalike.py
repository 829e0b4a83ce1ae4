"""Look-alikes from the built-in visual descriptor: "find similar" (exact search) and near-duplicate groups.
"Find similar" by an embedding field of the schema (``by=<field>``) is answered by `media.vectors`.

- `nearest`: the k items of a (filtered, workspace-scoped) queryset nearest to a query item, by
  `descriptor.distance`. Exact search: the candidates' descriptors are read in keyset batches of
  SEARCH_BATCH rows (id, hash, histogram: about 300 bytes a row) and only the best k are kept in a heap, so memory
  is O(k + SEARCH_BATCH) whatever the result's size; the time is linear in the number of candidates.
- `duplicate_groups_compute`: pairs of items whose hashes differ in at most DUPLICATE_BITS bits, found by
  multi-index hashing on whole numpy arrays (`groups_of`: the 64 bits split into four interleaved 16-bit keys;
  two hashes within 7 bits differ in at most one bit of some key, so only items whose keys are equal or one bit
  apart are compared), then union-find into groups whose representative is the oldest item. Written to
  `Item.dup_group` by the `find_duplicates` task.
"""

from __future__ import annotations

import heapq
import struct
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from metadata_site.explorer.query import FilterError
from metadata_site.items.models import Item
from metadata_site.lib.background import queue_work
from metadata_site.lib.taskmodel import TaskStatus

from . import vectors
from .descriptor import distance, to_signed, to_unsigned, unpack_colour
from .models import DuplicateScan
from .unionfind import components, groups_from_roots

DEFAULT_K = 50
MAX_K = 500
SEARCH_BATCH = 2000  # candidate rows read per query
DUPLICATE_BITS = 7  # at most 7 of 64 bits differ (the most for which 4 × 16-bit multi-index hashing is exact)
CHUNKS, CHUNK_BITS, CHUNK_VALUES = 4, 16, 1 << 16
PAIR_BLOCK = 500_000  # candidate pairs compared at once by `groups_of` (about 50 MB of temporary arrays)
SCAN_BATCH = 20_000
WRITE_BATCH = 5000
GROUPS_SHOWN = 50  # groups on the duplicates page
GROUP_ITEMS_SHOWN = 24  # items shown per group

BAD_K = "k: {value!r} is not a whole number from 1 to {max}"
BAD_SIMILAR_TO = "similar_to: {value!r} is not an item id"
IMAGE_PREFIX = "image:"  # similar_to=image:<hash>.<histogram>: an uploaded picture's descriptor (never stored)
BAD_SIMILAR_IMAGE = "similar_to: {value!r} is not the descriptor of an uploaded image"
IMAGE_NOT_BY = "by: an uploaded image is compared by the built-in visual descriptor only"
BAD_BY = "by: {value!r} is not an embedding field of the schema (leave it out for the built-in visual descriptor)"
NO_VECTOR = "similar_to: the item {uid} has no {field!r} vector"
NO_DESCRIPTOR = "similar_to: the item {uid} has no visual descriptor yet (it is not an image, or its media is not ready)"
SCAN_TOO_LARGE = (
    "similar_to: more than {limit:,} pictures to compare; narrow the filter (a folder, a collection, a condition) "
    "to find similar ones among them."
)


@dataclass(frozen=True)
class Similar:
    uid: str
    k: int
    by: str = ""  # an embedding field's name; "" for the built-in descriptor
    image: tuple[int, bytes] | None = None  # an uploaded picture's (phash, colour) instead of an item


@dataclass(frozen=True)
class UploadedQuery:
    """An uploaded picture as a query: its descriptor, carried in the URL (`image_param`), never stored."""

    uid: str  # the similar_to value, so the page's links and forms keep it
    phash: int
    colour: bytes
    title: str = "the uploaded image"


def image_param(phash: int, colour: bytes) -> str:
    """The `similar_to` value of an uploaded picture: its hash (16 hex digits) and its histogram's bin counts (of
    the 256 pixels of the 16×16 reduction) as 64 little-endian uint16, base64url: 193 characters."""
    import base64

    counts = struct.pack("<64H", *(round(c * 256) for c in unpack_colour(colour)))
    return f"{IMAGE_PREFIX}{to_unsigned(phash):016x}.{base64.urlsafe_b64encode(counts).decode().rstrip('=')}"


def _parse_image(raw: str) -> tuple[int, bytes]:
    import base64
    import binascii

    try:
        digits, counts_text = raw[len(IMAGE_PREFIX):].split(".", 1)
        if len(digits) != 16:
            raise ValueError(digits)
        counts = struct.unpack("<64H", base64.urlsafe_b64decode(counts_text + "=" * (-len(counts_text) % 4)))
        if sum(counts) != 256:
            raise ValueError(counts_text)
        return to_signed(int(digits, 16)), struct.pack("<64f", *(c / 256 for c in counts))
    except (ValueError, struct.error, binascii.Error):
        raise FilterError(BAD_SIMILAR_IMAGE.format(value=raw[:100]), param="similar_to") from None


def parse_similar(params) -> Similar | None:
    """`similar_to=<uid>`, `k` and `by` from a query string, or None when there is no `similar_to`; FilterError if
    bad (`by` is checked against the schema by `query_item`)."""
    import uuid

    raw = (params.get("similar_to") or "").strip()
    if not raw:
        return None
    image = None
    if raw.startswith(IMAGE_PREFIX):
        image, uid = _parse_image(raw), raw
    else:
        try:
            uid = str(uuid.UUID(raw))
        except ValueError:
            raise FilterError(BAD_SIMILAR_TO.format(value=raw[:100]), param="similar_to") from None
    raw_k = params.get("k") or str(DEFAULT_K)
    if not raw_k.isdigit() or not 1 <= int(raw_k) <= MAX_K:
        raise FilterError(BAD_K.format(value=raw_k[:20], max=MAX_K), param="k")
    by = (params.get("by") or "").strip()
    if image is not None and by:
        raise FilterError(IMAGE_NOT_BY, param="by")
    return Similar(uid=uid, k=int(raw_k), by=by, image=image)


def _embedding_field(similar: Similar, *, workspace):
    from metadata_site.schemas.selectors import schema_current

    spec = schema_current(workspace=workspace).embedding(similar.by)
    if spec is None:
        raise FilterError(BAD_BY.format(value=similar.by[:100]), param="by")
    return vectors.field_of(spec)


def query_item(similar: Similar, *, workspace) -> Item | UploadedQuery:
    """The query item, in `workspace` only (Item.DoesNotExist otherwise, a 404 for the caller); FilterError when
    it has no descriptor (or, with `by`, no vector of that field, or `by` names no embedding field). With `by`,
    the item carries its vector as `.query_vector` and the field as `.query_field`. An uploaded picture's
    descriptor (`similar.image`) gives an UploadedQuery."""
    if similar.image is not None:
        return UploadedQuery(uid=similar.uid, phash=similar.image[0], colour=similar.image[1])
    if similar.by:
        field = _embedding_field(similar, workspace=workspace)
        item = Item.objects.get(workspace=workspace, uid=similar.uid)
        item.query_field = field
        item.query_vector = vectors.query_vector(workspace=workspace, field=field, item=item)
        if item.query_vector is None:
            raise FilterError(NO_VECTOR.format(uid=item.uid, field=field.name), param="similar_to")
        return item
    item = Item.objects.get(workspace=workspace, uid=similar.uid)
    if item.phash is None or item.colour is None:
        raise FilterError(NO_DESCRIPTOR.format(uid=item.uid), param="similar_to")
    return item


def _keyset_rows(rows: models.QuerySet, fields: tuple[str, ...], *, batch: int):
    """`fields` (the first is "pk") of every row, read `batch` rows a query in id order (keyset, no OFFSET)."""
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list(*fields)[:batch])
        yield from chunk
        if len(chunk) < batch:
            return
        last = chunk[-1][0]


def nearest(candidates: models.QuerySet, *, query, k: int) -> list[Item]:
    """The k items of `candidates` nearest to `query`, nearest first (ties by id), each with `.distance`.
    `candidates` must already be scoped to the query's workspace (the explorer's filtered queryset). `query` is
    what `query_item` returns (with `by`: scored by its vector), or any object with `phash` and `colour` (an
    uploaded picture's descriptor)."""
    if getattr(query, "query_field", None) is not None:
        ranked = vectors.nearest_by_vector(candidates, workspace=query.workspace_id, field=query.query_field,
                                           query=query.query_vector, k=k)
        by_pk = Item.objects.in_bulk([pk for _, pk in ranked])
        found = []
        for d, pk in ranked:
            if pk in by_pk:
                by_pk[pk].distance = round(d, 4)
                found.append(by_pk[pk])
        return found
    q_hash, q_colour = query.phash, unpack_colour(query.colour)
    heap: list[tuple[float, int]] = []  # (-distance, -id): the worst kept item on top
    rows = candidates.filter(phash__isnull=False, colour__isnull=False)
    for scanned, (pk, phash, colour) in enumerate(_keyset_rows(rows, ("pk", "phash", "colour"), batch=SEARCH_BATCH)):
        if scanned == settings.SIMILAR_SCAN_MAX:  # a request never compares without bound
            raise FilterError(SCAN_TOO_LARGE.format(limit=settings.SIMILAR_SCAN_MAX), param="similar_to")
        entry = (-distance(q_hash, q_colour, phash, unpack_colour(colour)), -pk)
        if len(heap) < k:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    ranked = sorted((-d, -pk) for d, pk in heap)
    by_pk = Item.objects.in_bulk([pk for _, pk in ranked])
    found = []
    for d, pk in ranked:
        item = by_pk[pk]
        item.distance = d
        found.append(item)
    return found


def duplicate_hashes(*, workspace, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """(ids ascending, unsigned hashes) of the workspace's items that have a descriptor, as numpy arrays: one
    keyset scan of (id, phash) in SCAN_BATCH rows a query (16 bytes an item kept). `progress(percent)`: 0-40."""
    rows = Item.objects.filter(workspace=workspace, phash__isnull=False)
    total = rows.count() if progress is not None else 0
    ids: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    read = 0
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", "phash")[:SCAN_BATCH])
        if chunk:
            pair = np.array(chunk, dtype=np.int64)
            ids.append(pair[:, 0])
            hashes.append(pair[:, 1].view(np.uint64))  # the stored signed 64 bits, read unsigned
            read += len(chunk)
            last = chunk[-1][0]
            if progress is not None:
                progress(min(40, 40 * read // max(total, 1)))
        if len(chunk) < SCAN_BATCH:
            break
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    return np.concatenate(ids), np.concatenate(hashes)


def duplicate_groups_compute(*, workspace, bits: int = DUPLICATE_BITS, progress=None) -> dict[int, int]:
    """{item id: representative id} for every item of `workspace` that has a near-duplicate (Hamming distance
    ≤ `bits`, at most 7). `progress(percent)` is called now and then: 0-40 while reading, 40-90 over the four
    chunks of `groups_of`."""
    ids, hashes = duplicate_hashes(workspace=workspace, progress=progress)
    return groups_of(ids, hashes, bits=bits, progress=progress)


def _pair_blocks(counts: np.ndarray, limit: int):
    """Slices [start, stop) of the sources such that the sum of `counts` over each stays about `limit` or less (a
    single source over it gets a slice of its own)."""
    ends = np.cumsum(counts)
    start = 0
    while start < len(counts):
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + limit, side="right"))
        stop = max(stop, start + 1)
        yield start, stop
        start = stop


def _close_pairs(hashes: np.ndarray, src: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int):
    """The pairs (2×P arrays of positions in `hashes`, one a block of about PAIR_BLOCK compared pairs) of each
    source `src[i]` with each position of [lo[i], hi[i]) whose hashes differ in at most `bits` bits."""
    counts = np.maximum(hi - lo, 0)
    keep = counts > 0
    src, lo, counts = src[keep], lo[keep], counts[keep]
    for start, stop in _pair_blocks(counts, PAIR_BLOCK):
        c = counts[start:stop]
        total = int(c.sum())
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
        a = np.repeat(src[start:stop], c)
        b = np.repeat(lo[start:stop], c) + offsets
        near = np.bitwise_count(hashes[a] ^ hashes[b]) <= bits
        if near.any():
            yield np.stack([a[near], b[near]])


def _chunk_keys(hashes: np.ndarray, chunk: int) -> np.ndarray:
    """The 16-bit key of each hash for `chunk`: its bits chunk, chunk + 4, …, chunk + 60. Interleaved rather
    than 16 contiguous bits (two rows of the 8×8 difference hash), so that a region most pictures share (a
    uniform sky: rows of 0 bits) fixes a few bits of every key instead of all the bits of one, which would put
    most of the pictures in one bucket and compare them all pairwise."""
    keys = np.zeros(len(hashes), dtype=np.int64)
    one = np.uint64(1)
    for j in range(CHUNK_BITS):
        keys |= ((hashes >> np.uint64(CHUNKS * j + chunk)) & one).astype(np.int64) << j
    return keys


def groups_of(ids, hashes, *, bits: int = DUPLICATE_BITS, progress=None) -> dict[int, int]:
    """{id: representative id} of the ids (ascending) whose unsigned 64-bit hashes lie within `bits` (≤ 7) of
    another's, the representative being the smallest id of its group. No database: numpy on whole arrays.

    Equal hashes are joined first and only one item per distinct hash is compared. Then multi-index hashing with
    four 16-bit keys (`_chunk_keys`, a partition of the 64 bits): two hashes within 7 bits differ in at most one
    bit of some key (7 < 2 × 4), so for each key the distinct hashes are sorted by it and each is compared with
    those of its own bucket (same key) and of the buckets one bit above (the key with one of its 0 bits set):
    every pair within one bit on that key is compared exactly once per key. The pairs within `bits` are joined
    (`components`) block by block as they are found, so memory does not grow with the number of close pairs."""
    if not 0 <= bits <= DUPLICATE_BITS:
        raise ValueError(f"bits must be from 0 to {DUPLICATE_BITS}")
    ids = np.asarray(ids, dtype=np.int64)
    values = np.asarray(hashes, dtype=np.uint64) if not isinstance(hashes, np.ndarray) else hashes.astype(np.uint64)
    n = len(ids)
    if n < 2:
        return {}
    distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    first = first.astype(np.int64)
    parent = components(n, np.stack([np.arange(n, dtype=np.int64), first[inverse]]))  # equal hashes
    keys_all = np.arange(CHUNK_VALUES + 1, dtype=np.int64)
    for chunk in range(CHUNKS):
        keys = _chunk_keys(distinct, chunk)
        order = np.argsort(keys, kind="stable")
        sorted_keys, sorted_hashes = keys[order], distinct[order]
        bucket = np.searchsorted(sorted_keys, keys_all)  # bucket[k]: the first position of key k
        positions = np.arange(len(order), dtype=np.int64)
        first_of = first[order]  # sorted position → distinct hash → its first item
        for close in _close_pairs(sorted_hashes, positions, positions + 1, bucket[sorted_keys + 1], bits):
            parent = components(n, first_of[close], parent)
        for bit in range(CHUNK_BITS):
            flag = 1 << bit
            src = positions[(sorted_keys & flag) == 0]
            target = sorted_keys[src] | flag
            for close in _close_pairs(sorted_hashes, src, bucket[target], bucket[target + 1], bits):
                parent = components(n, first_of[close], parent)
        if progress is not None:
            progress(40 + 50 * (chunk + 1) // CHUNKS)
    return groups_from_roots(ids, parent)


def duplicate_groups_write(*, workspace, groups: dict[int, int]) -> int:
    """Set every item's `dup_group` of `workspace` from `groups` (None for the others), in one transaction;
    returns the number of groups. WRITE_BATCH items a statement (PostgreSQL: one UPDATE … FROM unnest(ids, reps);
    SQLite: executemany), so a million grouped items take a few hundred statements, not one a group."""
    from django.db import connection

    table = connection.ops.quote_name(Item._meta.db_table)
    rows = sorted(groups.items())
    with transaction.atomic(), connection.cursor() as cursor:
        Item.objects.filter(workspace=workspace, dup_group__isnull=False).update(dup_group=None)
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start:start + WRITE_BATCH]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"UPDATE {table} AS t SET dup_group = v.rep FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, rep)"
                    " WHERE t.id = v.id AND t.workspace_id = %s",
                    [[pk for pk, _ in batch], [rep for _, rep in batch], workspace.pk],
                )
            else:
                cursor.executemany(f"UPDATE {table} SET dup_group = %s WHERE id = %s AND workspace_id = %s",
                                   [(rep, pk, workspace.pk) for pk, rep in batch])
    return len(set(groups.values()))


def duplicate_scan_queue(*, workspace, user=None, source: str = "", threshold: float | None = None) -> DuplicateScan:
    """Mark the workspace's near-duplicate search queued and queue `find_duplicates` (with the caller's
    transaction). `source`: "" for the built-in descriptor (`threshold` bits, default DUPLICATE_BITS) or an
    embedding field's name (`threshold` a distance of its metric); the caller has validated both
    (`forms.DuplicateScanForm`)."""
    with transaction.atomic():
        scan, _ = DuplicateScan.objects.update_or_create(
            workspace=workspace,
            defaults={"status": TaskStatus.QUEUED, "done": 0, "created_by": user, "created_at": timezone.now(),
                      "started_at": None, "finished_at": None, "heartbeat_at": None, "failure_reason": "",
                      "source": source, "threshold": threshold},
        )
        queue_work(scan)
    return scan


def duplicate_scan_run(*, workspace_id: int) -> dict[str, int]:
    """The body of the background search: compute and store the workspace's near-duplicate groups by the scan's
    source and threshold, its progress in the workspace's DuplicateScan row (written outside any transaction, so
    the page sees it while it runs). An embedding field no longer in the schema fails the scan with the reason."""
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Workspace

    from .vector_dupes import groups_by_vector

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"groups": 0, "items": 0}
    scans = DuplicateScan.objects.filter(workspace=workspace)
    scan, _ = DuplicateScan.objects.update_or_create(
        workspace=workspace, defaults={"status": TaskStatus.RUNNING, "done": 0, "started_at": timezone.now()})

    def progress(percent: int) -> None:
        scans.update(done=percent, heartbeat_at=timezone.now())

    if scan.source:
        spec = schema_current(workspace=workspace).embedding(scan.source)
        if spec is None:
            raise ValueError(f"{scan.source!r} is no longer an embedding field of the schema")
        if scan.threshold is None:
            raise ValueError(f"no threshold given for the embedding field {scan.source!r}")
        groups = groups_by_vector(workspace_id=workspace.pk, field=vectors.field_of(spec),
                                  threshold=scan.threshold, progress=progress)
    else:
        bits = DUPLICATE_BITS if scan.threshold is None else int(scan.threshold)
        groups = duplicate_groups_compute(workspace=workspace, bits=bits, progress=progress)
    found = duplicate_groups_write(workspace=workspace, groups=groups)
    scans.update(status=TaskStatus.COMPLETED, done=100, groups=found, items=len(groups), finished_at=timezone.now())
    return {"groups": found, "items": len(groups)}


@dataclass
class DuplicateGroup:
    representative: Item
    size: int
    items: list[Item]  # the representative first, at most GROUP_ITEMS_SHOWN


def duplicate_groups(*, workspace, limit: int = GROUPS_SHOWN) -> list[DuplicateGroup]:
    """The stored near-duplicate groups of `workspace`, largest first, at most `limit` of them."""
    top = list(
        Item.objects.filter(workspace=workspace, dup_group__isnull=False)
        .values("dup_group").annotate(size=models.Count("id")).order_by("-size", "dup_group")[:limit]
    )
    result = []
    for row in top:
        members = list(Item.objects.filter(workspace=workspace, dup_group=row["dup_group"]).order_by("pk")[:GROUP_ITEMS_SHOWN])
        members.sort(key=lambda it: (it.pk != row["dup_group"], it.pk))
        if members:
            result.append(DuplicateGroup(representative=members[0], size=row["size"], items=members))
    return result


"""Look-alikes from the built-in visual descriptor: "find similar" (exact search) and near-duplicate groups.
"Find similar" by an embedding field of the schema (``by=<field>``) is answered by `media.vectors`.

- `nearest`: the k items of a (filtered, workspace-scoped) queryset nearest to a query item, by
  `descriptor.distance`. Exact search: the candidates' descriptors are read in keyset batches of
  SEARCH_BATCH rows (id, hash, histogram: about 300 bytes a row) and only the best k are kept in a heap, so memory
  is O(k + SEARCH_BATCH) whatever the result's size; the time is linear in the number of candidates.
- `duplicate_groups_compute`: pairs of items whose hashes differ in at most DUPLICATE_BITS bits, found by
  multi-index hashing (the 64 bits split into 8 bytes: two hashes within 7 bits share at least one byte, so only
  items sharing a byte value at the same position are compared), then union-find into groups whose
  representative is the oldest item. Written to `Item.dup_group` by the `find_duplicates` task.
"""

from __future__ import annotations

import heapq
import struct
from dataclasses import dataclass

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

DEFAULT_K = 50
MAX_K = 500
SEARCH_BATCH = 2000  # candidate rows read per query
DUPLICATE_BITS = 7  # at most 7 of 64 bits differ (the most for which 8-byte multi-index hashing is exact)
SCAN_BATCH = 5000
WRITE_BATCH = 1000
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


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller index (the older item) stays the root


def duplicate_groups_compute(*, workspace, bits: int = DUPLICATE_BITS, progress=None) -> dict[int, int]:
    """{item id: representative id} for every item of `workspace` that has a near-duplicate (Hamming distance
    ≤ `bits`, at most 7). Reads the hashes in keyset batches (16 bytes an item kept), then one pass per byte.
    `progress(percent)` is called now and then: 0-40 while reading, 40-90 over the eight passes."""
    ids: list[int] = []
    hashes: list[int] = []
    rows = Item.objects.filter(workspace=workspace, phash__isnull=False)
    total = rows.count() if progress is not None else 0
    for pk, phash in _keyset_rows(rows, ("pk", "phash"), batch=SCAN_BATCH):
        ids.append(pk)
        hashes.append(to_unsigned(phash))
        if progress is not None and len(ids) % SCAN_BATCH == 0:
            progress(min(40, 40 * len(ids) // max(total, 1)))
    return groups_of(ids, hashes, bits=bits, progress=progress)


def groups_of(ids: list[int], hashes: list[int], *, bits: int = DUPLICATE_BITS, progress=None) -> dict[int, int]:
    """{id: representative id} of the ids (ascending) whose unsigned 64-bit hashes lie within `bits` (≤ 7) of
    another's, the representative being the smallest id of its group. No database: pure computation."""
    uf = _UnionFind(len(ids))
    # Equal hashes are joined first and only one item per distinct hash takes part in the byte buckets (a
    # workspace of many identical pictures costs no pairwise comparisons among them).
    first_of: dict[int, int] = {}
    for i, h in enumerate(hashes):
        if h in first_of:
            uf.union(first_of[h], i)
        else:
            first_of[h] = i
    distinct = list(first_of.items())
    for position in range(8):
        shift = position * 8
        buckets: dict[int, list[tuple[int, int]]] = {}
        for h, i in distinct:
            buckets.setdefault((h >> shift) & 0xFF, []).append((h, i))
        for members in buckets.values():
            for n, (ha, a) in enumerate(members):
                for hb, b in members[n + 1:]:
                    if (ha ^ hb).bit_count() <= bits:
                        uf.union(a, b)
        if progress is not None:
            progress(40 + 50 * (position + 1) // 8)
    groups: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for i in range(len(ids)):
        root = uf.find(i)
        sizes[root] = sizes.get(root, 0) + 1
    for i in range(len(ids)):
        root = uf.find(i)
        if sizes[root] > 1:
            groups[ids[i]] = ids[root]
    return groups


def duplicate_groups_write(*, workspace, groups: dict[int, int]) -> int:
    """Set every item's `dup_group` of `workspace` from `groups` (None for the others), in one transaction;
    returns the number of groups."""
    by_rep: dict[int, list[int]] = {}
    for pk, rep in groups.items():
        by_rep.setdefault(rep, []).append(pk)
    with transaction.atomic():
        Item.objects.filter(workspace=workspace, dup_group__isnull=False).update(dup_group=None)
        for rep, members in by_rep.items():
            for start in range(0, len(members), WRITE_BATCH):
                Item.objects.filter(workspace=workspace, pk__in=members[start:start + WRITE_BATCH]).update(dup_group=rep)
    return len(by_rep)


def duplicate_scan_queue(*, workspace, user=None) -> DuplicateScan:
    """Mark the workspace's near-duplicate search queued and queue `find_duplicates` (with the caller's
    transaction)."""
    with transaction.atomic():
        scan, _ = DuplicateScan.objects.update_or_create(
            workspace=workspace,
            defaults={"status": TaskStatus.QUEUED, "done": 0, "created_by": user, "created_at": timezone.now(),
                      "started_at": None, "finished_at": None, "heartbeat_at": None, "failure_reason": ""},
        )
        queue_work(scan)
    return scan


def duplicate_scan_run(*, workspace_id: int) -> dict[str, int]:
    """The body of the background search: compute and store the workspace's near-duplicate groups, its progress
    in the workspace's DuplicateScan row (written outside any transaction, so the page sees it while it runs)."""
    from metadata_site.workspaces.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"groups": 0, "items": 0}
    scans = DuplicateScan.objects.filter(workspace=workspace)
    DuplicateScan.objects.update_or_create(workspace=workspace, defaults={"status": TaskStatus.RUNNING, "done": 0,
                                                                          "started_at": timezone.now()})
    groups = duplicate_groups_compute(
        workspace=workspace, progress=lambda p: scans.update(done=p, heartbeat_at=timezone.now())
    )
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


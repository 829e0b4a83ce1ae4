"""Items: lists filtered by the explorer's language, one item, its metadata, and bulk metadata writes."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.pagination import paginate

from metadata_site.explorer import selectors as explorer_selectors
from metadata_site.explorer.query import FilterError, items_matching, page_items, parse_json, parse_query_string
from metadata_site.items.models import Item
from metadata_site.items.services import (
    MODE_MERGE,
    MODE_OVERWRITE,
    STATUS_FAILED,
    MetadataWriteError,
    item_metadata_write,
    item_metadata_write_by_uid,
)
from metadata_site.media import lookalike
from metadata_site.schemas.selectors import schema_current

from ..access import read_access, write_access
from ..auth import api_read_auth
from ..bodies import json_object, object_body
from ..errors import ApiError, responses
from ..paging import CursorPage
from ..schemas import BulkMetadataIn, BulkMetadataOut, ItemMetadataOut, ItemOut, ItemPage, ItemSearchIn, ItemSearchPage

router = Router(tags=["items"])

BULK_MAX_ITEMS = 10_000
BULK_TOO_MANY = "At most {limit:,} items per call ({count:,} given); send larger jobs as an import task."
METADATA_INVALID = "The metadata does not fit the schema."

F_PARAM = Query([], description="Conditions <field>:<op>:<value>, all must hold (repeat f=)")
ANY_PARAM = Query([], description="Conditions of which at least one must hold")
SIMILAR_PARAM = Query(None, description="an item's uid: the k items nearest to it, nearest first")
K_PARAM = Query(lookalike.DEFAULT_K, ge=1, le=lookalike.MAX_K, description="how many items with similar_to")
BY_PARAM = Query(None, description="with similar_to: an embedding field to compare by (default: the built-in "
                                   "visual descriptor)")


def _filter_error(exc: FilterError, where: str) -> ApiError:
    return ApiError(400, exc.message, [{"loc": [where, exc.param], "msg": exc.message}])


def _page(access, query, *, limit: int, cursor: str | None, where: str):
    schema = schema_current(workspace=access.workspace)
    try:
        qs = items_matching(query, schema=schema, workspace=access.workspace)
        page = page_items(qs, query, schema=schema, limit=limit, after=cursor)
        total = explorer_selectors.count(query, schema=schema, workspace=access.workspace)
    except FilterError as exc:
        raise _filter_error(exc, where) from None
    return total, page.items, page.next_cursor


@dataclass(frozen=True)
class _ItemPages:
    """The filtered items, paged by the explorer's keyset cursor."""

    access: Any
    query: Any

    def page(self, *, limit: int, cursor: str | None) -> tuple[int, list, str | None]:
        return _page(self.access, self.query, limit=limit, cursor=cursor, where="query")


@dataclass(frozen=True)
class _Nearest:
    """The k nearest items: one page whatever `limit` and `cursor` say."""

    rows: list

    def page(self, *, limit: int, cursor: str | None) -> tuple[int, list, str | None]:
        return len(self.rows), self.rows, None


def _similar(access, query, similar) -> _Nearest:
    schema = schema_current(workspace=access.workspace)
    try:
        target = lookalike.query_item(similar, workspace=access.workspace)
        qs = items_matching(query, schema=schema, workspace=access.workspace)
        rows = lookalike.nearest(qs, query=target, k=similar.k)
    except Item.DoesNotExist:
        raise ApiError(404, "similar_to: no such item in this workspace",
                       [{"loc": ["query", "similar_to"], "msg": "no such item in this workspace"}]) from None
    except FilterError as exc:
        raise _filter_error(exc, "query") from None
    return _Nearest(rows)


@router.get("/w/{slug}/items", response=responses(ItemPage))
@paginate(CursorPage, limit=50)
def item_list(
    request: HttpRequest,
    slug: str,
    f: list[str] = F_PARAM,
    any: list[str] = ANY_PARAM,  # noqa: A002
    scope: str | None = Query(None, description="folder:<id>, dataset:<id> or collection:<id>"),
    sort: str | None = Query(None, description="title or a declared field; -field for descending"),
    similar_to: UUID | None = SIMILAR_PARAM,
    k: int = K_PARAM,
    by: str | None = BY_PARAM,
):
    """Items with their metadata, filtered like the explorer (`f=weather:in:Sunny,Rain&f=temperature:gt:30`).
    With `similar_to`, the `k` items of the filtered result nearest to that item (built-in visual descriptor),
    nearest first, each with its `distance` (0 = the same picture); no paging. With `by=<embedding field>`, by
    that field's vectors instead (its declared distance: cosine 1 - cos, or euclidean)."""
    access = read_access(request, slug)
    try:
        query = parse_query_string(request.GET, schema=schema_current(workspace=access.workspace))
    except FilterError as exc:
        raise _filter_error(exc, "query") from None
    if similar_to is not None:
        return _similar(access, query, lookalike.Similar(uid=str(similar_to), k=k, by=(by or "").strip()))
    return _ItemPages(access, query)


@router.post("/w/{slug}/items/search", response=responses(ItemSearchPage), auth=api_read_auth)
def item_search(request: HttpRequest, slug: str, payload: ItemSearchIn):
    """The same search with the JSON form of the filters: `{"all": [{"field", "op", "value"}], "any": [...],
    "scope", "sort", "limit", "cursor"}`. `next` is a cursor: post it back as `cursor`."""
    # Paged by hand, not by @paginate: `limit` and `cursor` travel in the JSON body beside the filters (ninja's
    # pagination input would be a separate parameter), and `next` is the bare cursor, not a URL.
    access = read_access(request, slug)
    data: dict[str, Any] = {"all": payload.all, "any": payload.any}
    if payload.scope:
        data["scope"] = payload.scope
    if payload.sort:
        data["sort"] = payload.sort
    try:
        query = parse_json(data, schema=schema_current(workspace=access.workspace))
    except FilterError as exc:
        raise _filter_error(exc, "body") from None
    count, rows, nxt = _page(access, query, limit=payload.limit, cursor=payload.cursor, where="body")
    return {"count": count, "results": rows, "next": nxt}


def _item(workspace, item_uid: UUID) -> Item:
    return get_object_or_404(Item, workspace=workspace, uid=item_uid)


@router.get("/w/{slug}/items/{uuid:item_uid}", response=responses(ItemOut))
def item_detail(request: HttpRequest, slug: str, item_uid: UUID):
    return _item(read_access(request, slug).workspace, item_uid)


@router.get("/w/{slug}/items/{uuid:item_uid}/metadata", response=responses(dict))
def item_metadata(request: HttpRequest, slug: str, item_uid: UUID):
    """The item's metadata object."""
    return _item(read_access(request, slug).workspace, item_uid).client_metadata


def _write_one(request: HttpRequest, slug: str, item_uid: UUID, mode: str) -> dict:
    access = write_access(request, slug)
    item = _item(access.workspace, item_uid)
    metadata = json_object(request)
    try:
        result = item_metadata_write(workspace=access.workspace, user=request.auth, updates={item.pk: metadata},
                                     mode=mode, source="api")
    except MetadataWriteError as exc:
        raise ApiError(422, exc.message) from None
    row = result.rows[0]
    if row["status"] == STATUS_FAILED:
        errors = [{"loc": ["body", e["key"]] if e.get("key") else ["body"], "msg": e["msg"]} for e in row["errors"]]
        raise ApiError(422, f"{METADATA_INVALID} {errors[0]['msg']}" if errors else METADATA_INVALID, errors)
    item.refresh_from_db(fields=["client_metadata"])
    return {"uid": str(item.uid), "status": row["status"], "metadata": item.client_metadata,
            "change_set": result.change_set.pk if result.change_set else None}


@router.put("/w/{slug}/items/{uuid:item_uid}/metadata", response=responses(ItemMetadataOut),
            openapi_extra=object_body("The item's whole new metadata object."))
def item_metadata_put(request: HttpRequest, slug: str, item_uid: UUID):
    """Overwrite the item's metadata (validated against the schema; undoable through its change set)."""
    return _write_one(request, slug, item_uid, MODE_OVERWRITE)


@router.patch("/w/{slug}/items/{uuid:item_uid}/metadata", response=responses(ItemMetadataOut),
              openapi_extra=object_body("Keys to set; a key given as null is removed."))
def item_metadata_patch(request: HttpRequest, slug: str, item_uid: UUID):
    """Merge into the item's metadata: the given keys are set, null removes a key, other keys stay."""
    return _write_one(request, slug, item_uid, MODE_MERGE)


@router.post("/w/{slug}/items/metadata", response=responses(BulkMetadataOut))
def item_metadata_bulk(request: HttpRequest, slug: str, payload: BulkMetadataIn):
    """Write metadata of up to 10,000 items in one call, set-based, in one change set.

    Each row is validated on its own: a bad row is not written (status `failed`, with its errors), the others
    are. `results` has one row per update, in order.
    """
    access = write_access(request, slug)
    if isinstance(payload.updates, dict):
        pairs = list(payload.updates.items())
    else:
        pairs = [(u.uid, u.metadata) for u in payload.updates]
    if len(pairs) > BULK_MAX_ITEMS:
        msg = BULK_TOO_MANY.format(limit=BULK_MAX_ITEMS, count=len(pairs))
        raise ApiError(422, msg, [{"loc": ["body", "updates"], "msg": msg}])
    updates: dict[str, dict] = {}
    duplicates: set[int] = set()
    for index, (uid, metadata) in enumerate(pairs):
        if uid in updates:
            duplicates.add(index)
        updates[uid] = metadata
    if duplicates:
        msg = f"Each item may appear once per call; repeated: {sorted({pairs[i][0] for i in duplicates})[:5]}"
        raise ApiError(422, msg, [{"loc": ["body", "updates", i], "msg": msg} for i in sorted(duplicates)[:50]])
    try:
        result = item_metadata_write_by_uid(workspace=access.workspace, user=request.auth, updates=updates,
                                            mode=payload.mode, source="api", description=payload.description)
    except MetadataWriteError as exc:
        raise ApiError(422, exc.message) from None
    rows = [
        {"index": i, "uid": row["uid"], "status": row["status"], "errors": row["errors"]}
        for i, row in enumerate(result.rows)
    ]
    return {
        "change_set": result.change_set.pk if result.change_set else None,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "failed": result.failed,
        "results": rows,
    }

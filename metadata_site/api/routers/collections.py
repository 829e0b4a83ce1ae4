"""Collections: list, create from a filter or a list of items, add/remove items, delete; datasets from
collections."""

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from metadata_site.collections.models import Collection
from metadata_site.collections.selectors import collection_active_task, collection_count_or_problem
from metadata_site.collections.services import (
    collection_add_items,
    collection_create,
    collection_delete,
    collection_remove_items,
    dataset_create_from_collections,
)
from metadata_site.items.models import Item
from metadata_site.projects.models import Dataset, Project

from ..access import read_access, write_access
from ..errors import ApiError, responses
from ..paging import CursorPage
from ..schemas import (
    CollectionIn,
    CollectionItemsIn,
    CollectionItemsOut,
    CollectionOut,
    CollectionPage,
    DatasetFromCollectionsIn,
    DatasetOut,
)

router = Router(tags=["collections"])

UNKNOWN_ITEMS = "No items with these ids in this workspace: {uids}."
ITEMS_OR_FILTER = "Give either `items` or `filter`."


def _item_ids(workspace, uids: list[UUID] | None) -> list[int] | None:
    if uids is None:
        return None
    found = dict(Item.objects.filter(workspace=workspace, uid__in=uids).values_list("uid", "pk"))
    missing = [str(u) for u in uids if u not in found]
    if missing:
        msg = UNKNOWN_ITEMS.format(uids=", ".join(missing[:10]) + (" …" if len(missing) > 10 else ""))
        raise ApiError(422, msg, [{"loc": ["body", "items"], "msg": msg}])
    return [found[u] for u in uids]


def _out(collection: Collection, task=None) -> dict:
    active = task or collection_active_task(collection)
    count, problem = collection_count_or_problem(collection)
    return {
        "id": collection.pk, "title": collection.title, "description": collection.description,
        "kind": collection.kind, "filter": collection.filter, "item_count": count, "problem": problem,
        "created_at": collection.created_at, "updated_at": collection.updated_at,
        "task": str(active.uid) if active else None,
    }


@router.get("/w/{slug}/collections", response=responses(CollectionPage))
@paginate(CursorPage, row=_out)
def collection_list(request: HttpRequest, slug: str):
    access = read_access(request, slug)
    return Collection.objects.filter(workspace=access.workspace).order_by("pk")


@router.post("/w/{slug}/collections", response=responses(CollectionOut, status=201))
def collection_create_endpoint(request: HttpRequest, slug: str, payload: CollectionIn):
    """A frozen collection of the given items or of every item matching `filter`; or a live one (`filter`
    only). Large selections are stored in the background (`task`)."""
    access = write_access(request, slug)
    collection = collection_create(
        workspace=access.workspace, user=request.auth, title=payload.title, description=payload.description,
        kind=payload.kind, filter_state=payload.filter, item_ids=_item_ids(access.workspace, payload.items),
    )
    return Status(201, _out(collection))


@router.get("/w/{slug}/collections/{int:collection_id}", response=responses(CollectionOut))
def collection_detail(request: HttpRequest, slug: str, collection_id: int):
    access = read_access(request, slug)
    return _out(get_object_or_404(Collection, workspace=access.workspace, pk=collection_id))


@router.delete("/w/{slug}/collections/{int:collection_id}", response=responses(None, status=204))
def collection_delete_endpoint(request: HttpRequest, slug: str, collection_id: int):
    """Delete the collection (its items stay)."""
    access = write_access(request, slug)
    collection_delete(collection=get_object_or_404(Collection, workspace=access.workspace, pk=collection_id))
    return Status(204, None)


def _selection(access, payload: CollectionItemsIn) -> tuple[list[int] | None, dict | None]:
    if (payload.items is None) == (payload.filter is None):
        raise ApiError(422, ITEMS_OR_FILTER, [{"loc": ["body"], "msg": ITEMS_OR_FILTER}])
    return _item_ids(access.workspace, payload.items), payload.filter


@router.post("/w/{slug}/collections/{int:collection_id}/items", response=responses(CollectionItemsOut))
def collection_add(request: HttpRequest, slug: str, collection_id: int, payload: CollectionItemsIn):
    """Add items (by uid) or every item matching `filter`; items already in it are skipped."""
    access = write_access(request, slug)
    collection = get_object_or_404(Collection, workspace=access.workspace, pk=collection_id)
    item_ids, filter_state = _selection(access, payload)
    result = collection_add_items(collection=collection, item_ids=item_ids, filter_state=filter_state,
                                  user=request.auth)
    return {"added": result.added, "task": str(result.task.uid) if result.task else None}


@router.post("/w/{slug}/collections/{int:collection_id}/items/remove", response=responses(CollectionItemsOut))
def collection_remove(request: HttpRequest, slug: str, collection_id: int, payload: CollectionItemsIn):
    access = write_access(request, slug)
    collection = get_object_or_404(Collection, workspace=access.workspace, pk=collection_id)
    item_ids, filter_state = _selection(access, payload)
    return {"removed": collection_remove_items(collection=collection, item_ids=item_ids, filter_state=filter_state)}


@router.post("/w/{slug}/datasets/from_collections", response=responses(DatasetOut, status=201), tags=["datasets"])
def dataset_from_collections(request: HttpRequest, slug: str, payload: DatasetFromCollectionsIn):
    """A dataset of the items of `collections` (and/or `items` / `filter`). Large datasets are filled in the
    background: their status is IMPORTING until READY."""
    access = write_access(request, slug)
    project = None
    if payload.project is not None:
        project = Project.objects.filter(workspace=access.workspace, pk=payload.project).first()
        if project is None:
            raise ValidationError({"project": "That project is not in this workspace."})
    dataset = dataset_create_from_collections(
        workspace=access.workspace, user=request.auth, title=payload.name, description=payload.description,
        collection_ids=payload.collections, item_ids=_item_ids(access.workspace, payload.items),
        filter_state=payload.filter, project=project, new_project_name=payload.new_project,
        split_image_groups=payload.split_image_groups,
    )
    return Status(201, Dataset.objects.annotate(item_count=Count("memberships")).get(pk=dataset.pk))

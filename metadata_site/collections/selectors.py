"""Reads about collections: membership (frozen and live), the tags shown on items, listings."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from metadata_site.items.models import Item, ItemKind
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace

from .models import Collection, CollectionItem, CollectionKind, CollectionTask, CollectionTaskStatus


def items_matching(*, workspace: Workspace, filter_state: dict) -> QuerySet[Item]:
    """Items of `workspace` matching an explorer filter state (its JSON form), compiled by the explorer's
    query package. A filter that does not validate raises ValidationError with the explorer's message."""
    from metadata_site.explorer import query as fl  # imported here: the explorer resolves collection scopes with us

    schema = schema_current(workspace=workspace)
    try:
        query = fl.parse_json(_without_sort(filter_state), schema=schema)
        return fl.items_matching(query, schema=schema, workspace=workspace)
    except fl.FilterError as exc:
        raise ValidationError(str(exc), code="bad_filter") from None


def filter_state_from_params(*, workspace: Workspace, params) -> dict:
    """The JSON filter state of explorer query parameters (``f``, ``any``, ``scope``), sort dropped."""
    from metadata_site.explorer import query as fl

    try:
        query = fl.parse_query_string(params, schema=schema_current(workspace=workspace))
    except fl.FilterError as exc:
        raise ValidationError(str(exc), code="bad_filter") from None
    return _without_sort(query.to_json())


def filter_state_as_params(filter_state: dict | None) -> str:
    """The explorer query string of a filter state, for links (empty for the whole workspace): the stored
    query's own ``to_params()``, so a range is written ``low..high`` as the explorer parses it."""
    from urllib.parse import urlencode

    from metadata_site.explorer import query as fl

    if not filter_state:
        return ""
    return urlencode(fl.stored_query(filter_state).to_params())


def _without_sort(filter_state: dict) -> dict:
    return {k: v for k, v in (filter_state or {}).items() if k != "sort"}


def collection_items(collection: Collection) -> QuerySet[Item]:
    """The items of a collection: the stored ones when frozen, the filter re-evaluated when live (by the
    explorer's one scope resolver, which follows nested collection scopes and guards against cycles)."""
    if collection.kind == CollectionKind.FROZEN:
        base = Item.objects.filter(workspace_id=collection.workspace_id)
        return base.filter(pk__in=CollectionItem.objects.filter(collection=collection).values("item_id"))
    return items_matching(workspace=collection.workspace, filter_state={"scope": f"collection:{collection.pk}"})


def collection_item_count(collection: Collection) -> int:
    return collection_items(collection).count()


def collection_count_or_problem(collection: Collection) -> tuple[int | None, str | None]:
    """(item count, None), or (None, why it cannot be counted) for a live collection whose filter no longer
    validates (a field it uses was dropped from the schema): one broken collection must not fail a listing."""
    try:
        return collection_item_count(collection), None
    except ValidationError as exc:
        return None, " ".join(exc.messages)


def collection_list(*, workspace: Workspace) -> QuerySet[Collection]:
    """Collections of a workspace with `stored_count` (items stored; live collections count on demand)."""
    return (
        Collection.objects.filter(workspace=workspace)
        .select_related("created_by")
        .annotate(stored_count=Count("memberships"))
        .order_by("title")
    )


def collection_thumbnails(collection: Collection, *, limit: int = 6) -> list[Item]:
    return list(collection_items(collection).top_level().only("uid", "title", "thumbnail_name").order_by("id")[:limit])


def collections_thumbnails(collections: Iterable[Collection], *, limit: int = 6) -> dict[int, list[Item]]:
    """collection id → its first `limit` top-level items: one query for all frozen collections, one
    per live collection."""
    result: dict[int, list[Item]] = {}
    frozen = [c.pk for c in collections if c.kind == CollectionKind.FROZEN]
    if frozen:
        rows = (
            CollectionItem.objects.filter(collection_id__in=frozen)
            .exclude(item__kind=ItemKind.FRAME)
            .annotate(rank=Window(RowNumber(), partition_by=F("collection_id"), order_by=F("item_id").asc()))
            .filter(rank__lte=limit)
            .select_related("item")
            .only("collection_id", "item__uid", "item__title", "item__workspace_id", "item__thumbnail_name")
            .order_by("collection_id", "item_id")
        )
        for row in rows:
            result.setdefault(row.collection_id, []).append(row.item)
    for c in collections:
        if c.kind == CollectionKind.LIVE:
            try:
                result[c.pk] = collection_thumbnails(c, limit=limit)
            except ValidationError:
                result[c.pk] = []
    return result


def collection_active_task(collection: Collection) -> CollectionTask | None:
    return (
        CollectionTask.objects.filter(
            collection=collection, status__in=[CollectionTaskStatus.QUEUED, CollectionTaskStatus.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )


def collection_tags_for_items(*, workspace_id: int, item_ids: Iterable[int]) -> dict[int, list[Collection]]:
    """item id → the collections it is in (frozen by membership, live by filter), for a page of items.

    One query for frozen membership, one for the live collections, and one per live collection
    (bounded by the number of live collections, not by the number of items).
    """
    ids = list(item_ids)
    tags: dict[int, list[Collection]] = {pk: [] for pk in ids}
    if not ids:
        return tags
    rows = (
        CollectionItem.objects.filter(workspace_id=workspace_id, item_id__in=ids)
        .select_related("collection")
        .only("item_id", "collection__id", "collection__title", "collection__kind")
        .order_by("collection__title")
    )
    for row in rows:
        tags[row.item_id].append(row.collection)
    for live in Collection.objects.filter(workspace_id=workspace_id, kind=CollectionKind.LIVE).select_related(
        "workspace"
    ):
        try:
            matched = list(collection_items(live).filter(pk__in=ids).values_list("pk", flat=True))
        except ValidationError:
            # The filter no longer validates (a field was removed from the schema): no tag.
            continue
        for pk in matched:
            tags[pk].append(live)
    for pk in tags:
        tags[pk].sort(key=lambda c: c.title.lower())
    return tags

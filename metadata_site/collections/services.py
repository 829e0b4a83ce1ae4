"""Writes of collections and of datasets built from them.

Membership is written set-based: one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` per call (or per
chunk in a background task), so an item already present is skipped and ids of another workspace can never
get in (the SELECT is scoped to the workspace). Selections above ``INLINE_LIMIT`` items run as a
background task with a progress row (`CollectionTask`) instead of inside the request.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from metadata_site.items.models import Item, ItemKind
from metadata_site.items.selection import SELECTION_EMPTY  # the one message of an empty selection
from metadata_site.lib.background import queue_work
from metadata_site.projects.models import Dataset, DatasetItem, DatasetStatus, Project
from metadata_site.workspaces.models import Workspace

from .models import (
    Collection,
    CollectionItem,
    CollectionKind,
    CollectionTask,
    CollectionTaskKind,
    CollectionTaskStatus,
)
from .selectors import collection_items, items_matching

# Selections up to this many items are written inside the request; larger ones by a background task.
INLINE_LIMIT = 20_000
# Rows written per statement by a background task (and per progress update): at least CHUNK_SIZE, and
# large enough that a task runs at most MAX_CHUNKS statements (PostgreSQL may evaluate a selection as a
# hashed subplan over all of it, once per statement).
CHUNK_SIZE = 20_000
MAX_CHUNKS = 25

COLLECTION_TITLE_REQUIRED = "A collection needs a title."
COLLECTION_TITLE_TAKEN = "A collection named “{title}” already exists in this workspace. Pick another title."
COLLECTION_KIND_INVALID = "Unknown collection kind “{kind}”: use frozen or live."
COLLECTION_LIVE_NEEDS_FILTER = "A live collection is defined by a filter, so it needs one."
COLLECTION_LIVE_HAS_NO_ITEMS = (
    "“{title}” is a live collection: its items are whatever its filter matches. Freeze it to add or remove items."
)
COLLECTION_ALREADY_FROZEN = "“{title}” is already frozen."
ITEMS_NOT_IN_WORKSPACE = (
    "{count} of the given item ids are not items of this workspace (e.g. {sample}); nothing changed."
)
DATASET_NAME_REQUIRED = "A dataset needs a title."
DATASET_NAME_TAKEN = "A dataset named “{name}” already exists in this workspace. Pick another title."
DATASET_PROJECT_REQUIRED = "Choose an existing project or name a new one."
DATASET_PROJECT_BOTH = "Choose an existing project or name a new one, not both."
DATASET_PROJECT_NOT_FOUND = "That project is not in this workspace."
PROJECT_NAME_TAKEN = "A project named “{name}” already exists in this workspace. Pick it from the list instead."
DATASET_NO_SOURCE = "Choose at least one collection, or start from an explorer selection."
COLLECTIONS_NOT_FOUND = "Collection(s) {ids} are not in this workspace; nothing changed."
DATASET_NOT_READY = "Dataset “{name}” is still being created ({progress}% done). Try again when its status is READY."


@dataclass(frozen=True)
class ItemsAdded:
    """What an add did: `added` rows written now, or the background `task` that will write them."""

    added: int
    task: CollectionTask | None = None


# --- helpers ------------------------------------------------------------------------------------


def _insert_select(*, table: str, owner_column: str, workspace_id: int, owner_id: int, source: QuerySet) -> int:
    """INSERT (workspace_id, <owner>, item_id) SELECT the pks of `source`, skipping rows already there.

    Returns the number of rows inserted. Both PostgreSQL and SQLite (>= 3.24) accept this statement; the
    ``WHERE true`` keeps SQLite's parser from reading ON CONFLICT as part of the SELECT.
    """
    try:
        sub_sql, sub_params = source.order_by().values(src_id=F("pk")).query.sql_with_params()
    except EmptyResultSet:
        return 0
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(table)} ({qn('workspace_id')}, {qn(owner_column)}, {qn('item_id')}) "
        f"SELECT %s, %s, src.{qn('src_id')} FROM ({sub_sql}) src WHERE true ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (workspace_id, owner_id, *sub_params))
        return max(cursor.rowcount, 0)


def _chunks(source: QuerySet, *, size: int) -> Iterable[QuerySet]:
    """Split `source` into consecutive pk ranges of at most `size` rows (keyset, no OFFSET over the whole set)."""
    last = 0
    while True:
        rest = source.filter(pk__gt=last).order_by("pk")
        bound = list(rest.values_list("pk", flat=True)[size - 1 : size])
        if not bound:
            yield rest
            return
        yield rest.filter(pk__lte=bound[0])
        last = bound[0]


def _chunk_size(total: int) -> int:
    return max(CHUNK_SIZE, -(-total // MAX_CHUNKS))


def _workspace_items(*, workspace: Workspace, item_ids: Iterable[int]) -> QuerySet[Item]:
    """Items with these pks, refusing (ValidationError) any id that is not an item of `workspace`."""
    try:
        ids = {int(i) for i in item_ids}
    except (TypeError, ValueError):
        raise ValidationError("Item ids must be integers.", code="bad_ids") from None
    found = set(Item.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", flat=True))
    missing = sorted(ids - found)
    if missing:
        sample = ", ".join(str(i) for i in missing[:5])
        raise ValidationError(ITEMS_NOT_IN_WORKSPACE.format(count=len(missing), sample=sample), code="foreign_ids")
    return Item.objects.filter(workspace=workspace, pk__in=ids)


def _selection(*, workspace: Workspace, item_ids: Iterable[int] | None, filter_state: dict | None) -> QuerySet[Item]:
    """Ticked ids when given, otherwise everything matching the filter."""
    if item_ids is not None:
        return _workspace_items(workspace=workspace, item_ids=item_ids)
    if filter_state is not None:
        return items_matching(workspace=workspace, filter_state=filter_state)
    raise ValidationError(SELECTION_EMPTY, code="empty")


def _clean_title(title: str, *, workspace: Workspace, exclude_pk: int | None = None) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": COLLECTION_TITLE_REQUIRED}, code="required")
    taken = Collection.objects.filter(workspace=workspace, title__iexact=title)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"title": COLLECTION_TITLE_TAKEN.format(title=title)}, code="unique")
    return title


def _save_unique(obj, *, field: str, message: str) -> None:
    """full_clean() and save(); a concurrent insert of the same unique name becomes the same clear error."""
    obj.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({field: message}, code="unique") from None


def _require_frozen(collection: Collection) -> None:
    if collection.kind != CollectionKind.FROZEN:
        raise ValidationError(COLLECTION_LIVE_HAS_NO_ITEMS.format(title=collection.title), code="live")


# --- collections --------------------------------------------------------------------------------


@transaction.atomic
def collection_create(
    *,
    workspace: Workspace,
    user,
    title: str,
    description: str = "",
    kind: str = CollectionKind.FROZEN,
    filter_state: dict | None = None,
    item_ids: Iterable[int] | None = None,
) -> Collection:
    """Create a collection.

    Frozen: stores the ticked `item_ids`, or, without ids, every item matching `filter_state` (a large
    match is stored by a background task; see `collection_active_task`). Live: stores only the filter.
    `filter_state` is always recorded as the filter the collection came from.
    """
    if kind not in CollectionKind.values:
        raise ValidationError({"kind": COLLECTION_KIND_INVALID.format(kind=kind)}, code="invalid")
    if kind == CollectionKind.LIVE and filter_state is None:
        raise ValidationError({"kind": COLLECTION_LIVE_NEEDS_FILTER}, code="required")
    if kind == CollectionKind.LIVE:
        # Validates the filter now, so a bad one is refused instead of failing on every view.
        items_matching(workspace=workspace, filter_state=filter_state).exists()
    collection = Collection(
        workspace=workspace,
        title=_clean_title(title, workspace=workspace),
        description=(description or "").strip(),
        kind=kind,
        filter=filter_state or {},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _save_unique(collection, field="title", message=COLLECTION_TITLE_TAKEN.format(title=collection.title))
    if kind == CollectionKind.FROZEN and (item_ids is not None or filter_state is not None):
        collection_add_items(collection=collection, item_ids=item_ids, filter_state=filter_state, user=user)
    return collection


@transaction.atomic
def collection_add_items(
    *,
    collection: Collection,
    item_ids: Iterable[int] | None = None,
    filter_state: dict | None = None,
    user=None,
) -> ItemsAdded:
    """Add ticked `item_ids` (all must be items of the collection's workspace) or all items matching
    `filter_state` to a frozen collection. Items already in it are skipped."""
    _require_frozen(collection)
    source = _selection(workspace=collection.workspace, item_ids=item_ids, filter_state=filter_state)
    total = source.count()
    if total > INLINE_LIMIT:
        task = CollectionTask.objects.create(
            workspace=collection.workspace,
            kind=CollectionTaskKind.ADD_ITEMS,
            collection=collection,
            total=total,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
        queue_work(task, item_ids=ids, filter_state=filter_state)
        return ItemsAdded(added=0, task=task)
    added = _insert_select(
        table=CollectionItem._meta.db_table,
        owner_column="collection_id",
        workspace_id=collection.workspace_id,
        owner_id=collection.pk,
        source=source,
    )
    Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return ItemsAdded(added=added)


def _run_chunked_insert(
    *, task: CollectionTask, source, table: str, owner_column: str, workspace_id: int, owner_id: int, on_chunk=None
) -> int:
    """Insert `source` into a membership table in keyset chunks, one transaction each, recording progress on
    `task` (and calling `on_chunk(done)` after each chunk). Returns the number of rows added."""
    CollectionTask.objects.filter(pk=task.pk).update(
        status=CollectionTaskStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    done = added = 0
    size = _chunk_size(task.total)
    for chunk in _chunks(source, size=size):
        with transaction.atomic():
            added += _insert_select(
                table=table, owner_column=owner_column, workspace_id=workspace_id, owner_id=owner_id, source=chunk
            )
        done = min(task.total, done + size)
        CollectionTask.objects.filter(pk=task.pk).update(done=done, added=added, heartbeat_at=timezone.now())
        if on_chunk is not None:
            on_chunk(done)
    return added


def collection_add_items_run(*, task: CollectionTask, item_ids: list[int] | None, filter_state: dict | None) -> int:
    """Body of the background add: chunked INSERT ... SELECT with progress on `task`."""
    collection = task.collection
    source = _selection(workspace=collection.workspace, item_ids=item_ids, filter_state=filter_state)
    added = _run_chunked_insert(
        task=task, source=source, table=CollectionItem._meta.db_table, owner_column="collection_id",
        workspace_id=collection.workspace_id, owner_id=collection.pk,
    )
    now = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(updated_at=now)
    CollectionTask.objects.filter(pk=task.pk).update(
        status=CollectionTaskStatus.COMPLETED, done=task.total, added=added, finished_at=now
    )
    return added


@transaction.atomic
def collection_remove_items(
    *, collection: Collection, item_ids: Iterable[int] | None = None, filter_state: dict | None = None
) -> int:
    """Remove ticked items, or all items matching the filter, from a frozen collection. Items are untouched."""
    _require_frozen(collection)
    source = _selection(workspace=collection.workspace, item_ids=item_ids, filter_state=filter_state)
    deleted, _ = CollectionItem.objects.filter(
        collection=collection, item_id__in=source.order_by().values("pk")
    ).delete()
    Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return deleted


@transaction.atomic
def collection_update(
    *, collection: Collection, title: str | None = None, description: str | None = None
) -> Collection:
    """Rename a collection and/or change its description."""
    if title is not None:
        collection.title = _clean_title(title, workspace=collection.workspace, exclude_pk=collection.pk)
    if description is not None:
        collection.description = description.strip()
    _save_unique(collection, field="title", message=COLLECTION_TITLE_TAKEN.format(title=collection.title))
    return collection


def collection_rename(*, collection: Collection, title: str) -> Collection:
    return collection_update(collection=collection, title=title)


@transaction.atomic
def collection_delete(*, collection: Collection) -> None:
    """Delete a collection and its membership rows; the items themselves stay."""
    CollectionItem.objects.filter(collection=collection).delete()
    collection.delete()


@transaction.atomic
def collection_freeze(*, collection: Collection, user=None) -> ItemsAdded:
    """Turn a live collection into a frozen snapshot of what its filter matches now (the filter is kept
    as its provenance)."""
    if collection.kind == CollectionKind.FROZEN:
        raise ValidationError(COLLECTION_ALREADY_FROZEN.format(title=collection.title), code="frozen")
    filter_state = collection.filter
    collection.kind = CollectionKind.FROZEN
    collection.save(update_fields=["kind", "updated_at"])
    return collection_add_items(collection=collection, filter_state=filter_state, user=user)


# --- datasets -----------------------------------------------------------------------------------


def dataset_require_ready(dataset: Dataset) -> None:
    """Raise ValidationError when `dataset` is still being built (status IMPORTING).

    Imports into a dataset and field-value uploads call this first."""
    if dataset.status != DatasetStatus.READY:
        raise ValidationError(
            DATASET_NOT_READY.format(name=dataset.name, progress=dataset.progress), code="dataset_importing"
        )


DATASET_REMOVED_SHOWN = 20  # removals recorded in a dataset's source


@transaction.atomic
def dataset_remove_items(*, dataset: Dataset, item_ids: Iterable[int], reason: str, user=None) -> int:
    """Take the items `item_ids` out of `dataset` (the items themselves stay in their folders), and record the removal
    (when, how many, why, by whom) in the dataset's source. Returns how many were removed."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    dataset_require_ready(dataset)
    ids = sorted({int(i) for i in item_ids})
    removed = 0
    for start in range(0, len(ids), 5_000):
        count, _ = DatasetItem.objects.filter(dataset=dataset, item_id__in=ids[start:start + 5_000]).delete()
        removed += count
    if removed:
        source = dict(dataset.source or {})
        entry = {"count": removed, "reason": reason, "at": timezone.now().isoformat(timespec="seconds"),
                 "by": getattr(user, "username", "") or ""}
        source["removed"] = ([entry] + list(source.get("removed") or []))[:DATASET_REMOVED_SHOWN]
        Dataset.objects.filter(pk=dataset.pk).update(source=source)
    return removed


def _dataset_items(
    *,
    workspace: Workspace,
    collections: list[Collection],
    item_ids: list[int] | None,
    filter_state: dict | None,
    split_image_groups: bool,
) -> QuerySet[Item]:
    """The items a dataset gets. Every source is a correlated semi-join on the item row (index lookups),
    so a chunk of a background build costs its own size, not the size of the whole selection."""
    base = Item.objects.filter(workspace=workspace)
    frozen = [c.pk for c in collections if c.kind == CollectionKind.FROZEN]
    selections = [collection_items(c) for c in collections if c.kind != CollectionKind.FROZEN]
    if filter_state is not None:
        selections.append(items_matching(workspace=workspace, filter_state=filter_state))
    if item_ids:
        _workspace_items(workspace=workspace, item_ids=item_ids)

    def selected(ref: str) -> Q | None:
        """The item referenced by `ref` ("pk", or "parent_id" for a frame's group) is selected."""
        parts = []
        if frozen:
            parts.append(Q(Exists(CollectionItem.objects.filter(collection_id__in=frozen, item_id=OuterRef(ref)))))
        parts += [Q(Exists(qs.order_by().filter(pk=OuterRef(ref)))) for qs in selections]
        if item_ids:
            parts.append(Q(**{f"{ref}__in": item_ids}))
        return reduce(or_, parts) if parts else None

    itself = selected("pk")
    if itself is None:
        return base.none()
    if not split_image_groups:
        return base.filter(itself)
    return base.filter((itself & ~Q(kind=ItemKind.IMAGE_GROUP)) | (Q(kind=ItemKind.FRAME) & selected("parent_id")))


@transaction.atomic
def dataset_create_from_collections(
    *,
    workspace: Workspace,
    user,
    title: str,
    description: str = "",
    collection_ids: Iterable[int] | None = None,
    item_ids: Iterable[int] | None = None,
    filter_state: dict | None = None,
    project: Project | None = None,
    new_project_name: str | None = None,
    split_image_groups: bool = False,
) -> Dataset:
    """Create a dataset in `project` (or in a new project named `new_project_name`) from collections
    and/or an explorer selection (ticked `item_ids` or all matching `filter_state`).

    Items in several sources are added once. With `split_image_groups` an image group becomes its frames.
    Up to INLINE_LIMIT items are added now (status READY); more are added by a background task while the
    dataset's status is IMPORTING with a progress. `Dataset.source` records where the items came from.
    """
    name = (title or "").strip()
    if not name:
        raise ValidationError({"title": DATASET_NAME_REQUIRED}, code="required")
    if Dataset.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ValidationError({"title": DATASET_NAME_TAKEN.format(name=name)}, code="unique")
    new_project_name = (new_project_name or "").strip()
    if project is not None and new_project_name:
        raise ValidationError({"project": DATASET_PROJECT_BOTH}, code="invalid")
    if project is None and not new_project_name:
        raise ValidationError({"project": DATASET_PROJECT_REQUIRED}, code="required")
    if project is not None and project.workspace_id != workspace.pk:
        raise ValidationError({"project": DATASET_PROJECT_NOT_FOUND}, code="invalid")
    if new_project_name and Project.objects.filter(workspace=workspace, name__iexact=new_project_name).exists():
        raise ValidationError({"new_project_name": PROJECT_NAME_TAKEN.format(name=new_project_name)}, code="unique")

    wanted = sorted({int(pk) for pk in (collection_ids or [])})
    collections = list(Collection.objects.filter(workspace=workspace, pk__in=wanted).order_by("title"))
    if len(collections) != len(wanted):
        missing = sorted(set(wanted) - {c.pk for c in collections})
        raise ValidationError(COLLECTIONS_NOT_FOUND.format(ids=", ".join(map(str, missing))), code="not_found")
    ids = sorted({int(pk) for pk in item_ids}) if item_ids is not None else None
    if not collections and not ids and filter_state is None:
        raise ValidationError(DATASET_NO_SOURCE, code="empty")
    source = _dataset_items(
        workspace=workspace,
        collections=collections,
        item_ids=ids,
        filter_state=filter_state,
        split_image_groups=split_image_groups,
    )
    total = source.count()

    now = timezone.now()
    actor = user if getattr(user, "is_authenticated", False) else None
    if project is None:
        project = Project(workspace=workspace, name=new_project_name, updated_at=now, updated_by=actor)
        _save_unique(project, field="new_project_name", message=PROJECT_NAME_TAKEN.format(name=project.name))
    background = total > INLINE_LIMIT
    dataset = Dataset(
        workspace=workspace,
        project=project,
        name=name,
        description=(description or "").strip(),
        updated_at=now,
        updated_by=actor,
        status=DatasetStatus.IMPORTING if background else DatasetStatus.READY,
        progress=0 if background else 100,
        source={
            "collections": [{"id": c.pk, "title": c.title, "kind": c.kind} for c in collections],
            "filter": filter_state,
            "ticked_items": len(ids) if ids else 0,
            "split_image_groups": split_image_groups,
            "item_count": total,
        },
    )
    _save_unique(dataset, field="title", message=DATASET_NAME_TAKEN.format(name=name))
    if background:
        task = CollectionTask.objects.create(
            workspace=workspace, kind=CollectionTaskKind.CREATE_DATASET, dataset=dataset, total=total, created_by=actor
        )
        queue_work(task, item_ids=ids)
    else:
        _insert_select(
            table=DatasetItem._meta.db_table,
            owner_column="dataset_id",
            workspace_id=workspace.pk,
            owner_id=dataset.pk,
            source=source,
        )
    return dataset


def dataset_build_run(*, task: CollectionTask, item_ids: list[int] | None = None) -> int:
    """Body of the background dataset build: chunked INSERT ... SELECT, progress on the task and dataset."""
    dataset = task.dataset
    src = dataset.source or {}
    collections = list(
        Collection.objects.filter(workspace=dataset.workspace, pk__in=[c["id"] for c in src.get("collections", [])])
    )
    source = _dataset_items(
        workspace=dataset.workspace,
        collections=collections,
        item_ids=item_ids,
        filter_state=src.get("filter"),
        split_image_groups=bool(src.get("split_image_groups")),
    )
    def _progress(done: int) -> None:
        percent = (done * 100) // task.total if task.total else 100
        Dataset.objects.filter(pk=dataset.pk).update(progress=min(percent, 99))

    added = _run_chunked_insert(
        task=task, source=source, table=DatasetItem._meta.db_table, owner_column="dataset_id",
        workspace_id=dataset.workspace_id, owner_id=dataset.pk, on_chunk=_progress,
    )
    now = timezone.now()
    Dataset.objects.filter(pk=dataset.pk).update(status=DatasetStatus.READY, progress=100)
    CollectionTask.objects.filter(pk=task.pk).update(
        status=CollectionTaskStatus.COMPLETED, done=task.total, added=added, finished_at=now
    )
    return added

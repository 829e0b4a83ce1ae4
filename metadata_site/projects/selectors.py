"""Reads of projects: the Info tab's revision history and the value of one version; folder item counts."""

from typing import Any

from .models import Dataset, Folder, InfoKind, InfoRevision, Project

HISTORY_LIMIT = 50


def info_owner_filter(obj: Project | Dataset) -> dict:
    return {"project": obj} if isinstance(obj, Project) else {"dataset": obj}


def info_revisions(obj: Project | Dataset, *, limit: int = HISTORY_LIMIT) -> list[InfoRevision]:
    """The latest revisions of all kinds, newest first."""
    return list(
        InfoRevision.objects.filter(**info_owner_filter(obj))
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def info_first_versions(obj: Project | Dataset) -> dict[str, InfoRevision]:
    """The first recorded revision of each kind: its `previous` is the value from before revisions began."""
    firsts: dict[str, InfoRevision] = {}
    for revision in InfoRevision.objects.filter(**info_owner_filter(obj)).order_by("kind", "version"):
        firsts.setdefault(revision.kind, revision)
    return firsts


def info_revision_value(obj: Project | Dataset, *, kind: str, version: int) -> Any:
    """The value `kind` had at `version`: a revision's value, or for the version before the first revision, that
    revision's `previous`. Raises LookupError when no such version is known."""
    if kind not in InfoKind.values:
        raise LookupError(kind)
    revisions = InfoRevision.objects.filter(**info_owner_filter(obj), kind=kind)
    revision = revisions.filter(version=version).first()
    if revision is not None:
        return revision.value
    first = revisions.order_by("version").first()
    if first is not None and first.version == version + 1:
        return first.previous
    raise LookupError(version)


# A folder's count on the workspace and folder pages stops here ("more than 100,000"): a page that lists folders reads
# at most this many index entries a folder, whatever their size (the explorer counts a folder's scope exactly).
FOLDER_COUNT_CAP = 100_000


def past_count_cap(count: int) -> bool:
    """Whether a count read up to the cap (`folder_subtree_counts`, `capped_count`) stopped there."""
    return count > FOLDER_COUNT_CAP


def capped_count(items) -> int:
    """How many of the queryset `items` there are, reading no further than FOLDER_COUNT_CAP + 1."""
    return items[: FOLDER_COUNT_CAP + 1].count()


def folder_subtree_counts(folders: list[Folder], *, workspace, cap: int | None = None) -> dict[int, int]:
    """Items in each of `folders` together with its subfolders, by folder id: the number the explorer shows
    for the folder's scope (every kind of item, frames included), up to `cap` (by default FOLDER_COUNT_CAP): a
    subtree of more than `cap` items counts as ``cap + 1`` and is read no further. Two queries whatever the tree's
    size: the workspace's folder tree, then one bounded index range a folder."""
    from django.db import connection

    from metadata_site.items.models import Item

    children: dict[int | None, list[int]] = {}
    for pk, parent in Folder.objects.filter(workspace=workspace).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    subtrees: dict[int, list[int]] = {}
    for folder in folders:
        ids, frontier = [folder.pk], [folder.pk]
        while frontier:
            frontier = [c for pk in frontier for c in children.get(pk, ())]
            ids.extend(frontier)
        subtrees[folder.pk] = ids
    if not subtrees:
        return {}
    cap = FOLDER_COUNT_CAP if cap is None else cap
    table = connection.ops.quote_name(Item._meta.db_table)
    parts, params = [], []
    for pk, ids in subtrees.items():
        parts.append(f"SELECT %s, (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE folder_id IN "
                     f"({', '.join(['%s'] * len(ids))}) LIMIT %s) s)")
        params += [pk, *ids, cap + 1]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {pk: n for pk, n in cursor.fetchall()}

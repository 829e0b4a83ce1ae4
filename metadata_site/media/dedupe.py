"""Acting on near-duplicate groups: the items of each group but its representative (the group's smallest id, the
oldest item, kept), put into a collection or taken out of a dataset. Groups are those the last `find_duplicates`
run stored (`Item.dup_group`)."""

from django.db.models import F, QuerySet

from metadata_site.collections.models import Collection
from metadata_site.collections.services import collection_create, dataset_remove_items
from metadata_site.items.models import Item
from metadata_site.projects.models import Dataset
from metadata_site.workspaces.models import Workspace


def duplicate_extras(*, workspace: Workspace) -> QuerySet[Item]:
    """Every item of `workspace` that is in a near-duplicate group and is not its representative."""
    return Item.objects.filter(workspace=workspace, dup_group__isnull=False).exclude(pk=F("dup_group"))


def duplicates_to_collection(*, workspace: Workspace, user, title: str) -> Collection:
    """A new frozen collection of all but one item per near-duplicate group (a large one is filled in the
    background, as any collection)."""
    ids = list(duplicate_extras(workspace=workspace).order_by("pk").values_list("pk", flat=True))
    return collection_create(
        workspace=workspace, user=user, title=title, item_ids=ids,
        description=f"Near-duplicates: all but the representative of each group ({len(ids)} items).",
    )


def duplicates_out_of_dataset(*, dataset: Dataset, user) -> int:
    """Remove all but one item per near-duplicate group from `dataset`; returns how many were removed. The
    representative stays, even where the dataset held only copies of it (then one copy is kept: the smallest id
    the dataset holds of that group)."""
    held = dataset.memberships.filter(item__dup_group__isnull=False).order_by("item_id")
    seen: set[int] = set()
    remove = []
    for item_id, group in held.values_list("item_id", "item__dup_group"):
        if group in seen:
            remove.append(item_id)
        seen.add(group)
    return dataset_remove_items(dataset=dataset, item_ids=remove, reason="near-duplicates", user=user)

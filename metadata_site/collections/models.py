import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from metadata_site.lib.taskmodel import BackgroundTask, TaskStatus
from metadata_site.workspaces.models import Workspace


class CollectionKind(models.TextChoices):
    FROZEN = "frozen", "Frozen"
    LIVE = "live", "Live"


class Collection(models.Model):
    """A saved selection of items: frozen (a snapshot of items) or live (only the filter)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="collections")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=CollectionKind.choices, default=CollectionKind.FROZEN)
    # The explorer state it came from: {"scope": ..., "filters": [...], "any": [...]}.
    filter = models.JSONField(default=dict, blank=True)
    items = models.ManyToManyField("items.Item", through="CollectionItem", related_name="collections")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["workspace", "title"], name="collection_unique_title")]

    def __str__(self) -> str:
        return self.title


class CollectionItem(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # No single-column indexes: the unique (collection, item) and the (item, collection) index cover both
    # lookups, and every extra index slows the million-row INSERT ... SELECT of a large add.
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    item = models.ForeignKey(
        "items.Item", on_delete=models.CASCADE, related_name="collection_memberships", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "item"], name="collection_item_unique")]
        indexes = [models.Index(fields=["item", "collection"], name="collection_item_by_item")]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.collection_id}"


class CollectionTaskKind(models.TextChoices):
    ADD_ITEMS = "add_items", "Add items to a collection"
    CREATE_DATASET = "create_dataset", "Create a dataset"


# Collection adds and dataset builds use the one status of every background task.
CollectionTaskStatus = TaskStatus


class CollectionTask(BackgroundTask):
    """A large collection add or dataset build run in the background: `done` of `total` items processed, `added`
    of them new to the collection or dataset."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=CollectionTaskKind.choices)
    collection = models.ForeignKey(Collection, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    dataset = models.ForeignKey(
        "projects.Dataset", null=True, blank=True, on_delete=models.CASCADE, related_name="collection_tasks"
    )
    added = models.PositiveBigIntegerField(default=0)

    progress_unit = "items processed"
    list_related = ("collection", "dataset")

    class Meta(BackgroundTask.Meta):
        indexes = [models.Index(fields=["workspace", "-created_at"], name="collectiontask_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uid}"

    @property
    def title(self) -> str:
        if self.collection_id:
            return self.collection.title
        return self.dataset.name if self.dataset_id else ""

    @property
    def progress(self) -> int:
        """Percent done, 0-100 (the API's name for `percent`)."""
        return self.percent

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-added", "Added", self.added)]

    def get_absolute_url(self) -> str:
        return reverse("collections:task", args=[self.workspace.slug, self.uid])

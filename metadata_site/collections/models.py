from django.conf import settings
from django.db import models

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
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="memberships")
    item = models.ForeignKey("items.Item", on_delete=models.CASCADE, related_name="collection_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "item"], name="collection_item_unique")]
        indexes = [models.Index(fields=["item", "collection"], name="collection_item_by_item")]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.collection_id}"

import uuid

from django.db import models

from metadata_site.workspaces.models import Workspace


class ItemKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    IMAGE_GROUP = "image_group", "Image group"
    FRAME = "frame", "Frame"


class ItemQuerySet(models.QuerySet):
    def in_workspace(self, workspace: Workspace) -> "ItemQuerySet":
        return self.filter(workspace=workspace)

    def in_folder(self, folder, *, recursive: bool = False) -> "ItemQuerySet":
        if not recursive:
            return self.filter(folder=folder)
        return self.filter(folder_id__in=folder.descendant_ids(include_self=True))

    def top_level(self) -> "ItemQuerySet":
        """Items that are not frames of an image group."""
        return self.exclude(kind=ItemKind.FRAME)


class Item(models.Model):
    """One data unit. `uid` is its public id (the `media_id` of imports and the API)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="items")
    folder = models.ForeignKey("projects.Folder", on_delete=models.CASCADE, related_name="items")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.IMAGE)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="frames")
    frame_index = models.PositiveIntegerField(null=True, blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    client_metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["workspace", "folder", "title"], name="item_ws_folder_title"),
            models.Index(fields=["workspace", "title"], name="item_ws_title"),
            models.Index(fields=["parent", "frame_index"], name="item_parent_frame"),
        ]

    def __str__(self) -> str:
        return self.title

from django.conf import settings
from django.db import models

from metadata_site.lib.uids import uuid7
from metadata_site.workspaces.models import Workspace


class ItemKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    IMAGE_GROUP = "image_group", "Image group"
    FRAME = "frame", "Frame"


class MediaStatus(models.TextChoices):
    NONE = "none", "No media"
    PENDING = "pending", "Waiting for the worker"
    READY = "ready", "Ready"
    ERROR = "error", "Cannot read this file"


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

    # No index of its own: (workspace, title) starts with it, and every index costs each metadata write of an
    # item (a new row version is inserted in all of them). No database-level foreign key either: the workspace
    # is the folder's (every write path sets it from the folder), and the folder's own key is checked; a
    # second referential check per row cost 2.4 s at the commits of a 1,000,000-item data import. Django
    # still cascades a workspace's deletion to its items.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="items", db_index=False, db_constraint=False
    )
    # Indexed by (folder, title), which also serves the foreign key. A separate folder index was a trap: with
    # the statistics of a folder that was empty when last analysed, the planner looked titles up through it,
    # walking the whole folder for each batch of a data import (250 ms per batch at 1,000,000 items).
    folder = models.ForeignKey("projects.Folder", on_delete=models.CASCADE, related_name="items", db_index=False)
    uid = models.UUIDField(default=uuid7, unique=True, editable=False)  # time-ordered: see lib/uids.py
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.IMAGE)
    parent = models.ForeignKey(  # indexed by (parent, frame_index), frames only
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="frames", db_index=False
    )
    frame_index = models.PositiveIntegerField(null=True, blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    client_metadata = models.JSONField(default=dict, blank=True)
    # A video's import `config` ({"sampling_rate", "keyframe_mode"}, validated, defaults filled in); None when
    # no import gave one (the defaults: 1 sample a second, keyframes in frames). Nullable so that bulk inserts
    # that do not name the column need no database default.
    video_config = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Media, written by metadata_site.media only (its services and its worker). Every column has a database
    # default, so the bulk writers' INSERT and COPY statements that name only the columns above keep working.
    # `blob` is the stored original (None for a URL-only item); no index (each index costs every metadata
    # write of an item) and PROTECT (a blob is deleted only once no item points at it).
    blob = models.ForeignKey(
        "media.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    media_status = models.CharField(
        max_length=8, choices=MediaStatus.choices, default=MediaStatus.NONE, db_default=MediaStatus.NONE
    )
    media_error = models.CharField(max_length=500, blank=True, default="", db_default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)  # seconds, videos
    fps = models.FloatField(null=True, blank=True)  # videos
    frame_count = models.PositiveIntegerField(null=True, blank=True)  # videos
    file_size = models.BigIntegerField(null=True, blank=True)  # bytes of the original
    content_type = models.CharField(max_length=64, blank=True, default="", db_default="")  # sniffed
    thumbnail_name = models.CharField(max_length=200, blank=True, default="", db_default="")  # storage name
    # Small: {"keyframes": [{"t": seconds, "frame": n, "thumb": storage name}, ...]} for videos.
    media_info = models.JSONField(null=True, blank=True)
    # The built-in visual descriptor of an image (metadata_site.media.descriptor), written by the worker with the
    # thumbnail: a 64-bit difference hash and a 4×4×4 colour histogram as 64 float32. `dup_group` is the id of
    # the representative of the item's near-duplicate group (itself for the representative), None when it has
    # no near-duplicate; written by metadata_site.media.lookalike's duplicates task.
    phash = models.BigIntegerField(null=True, blank=True)
    colour = models.BinaryField(null=True, blank=True)
    dup_group = models.BigIntegerField(null=True, blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["folder", "title"], name="item_folder_title"),
            models.Index(fields=["workspace", "title"], name="item_ws_title"),
            # Frames only: the other items would each cost an entry to insert on every write, for nothing.
            models.Index(
                fields=["parent", "frame_index"], name="item_frame_parent", condition=models.Q(parent__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ChangeSetQuerySet(models.QuerySet):
    def in_workspace(self, workspace: Workspace) -> "ChangeSetQuerySet":
        return self.filter(workspace=workspace)


class ChangeSet(models.Model):
    """One recorded change of item metadata (a form save, a bulk edit, a whole import, an undo).

    Its entries hold, per item touched, the item's whole previous metadata object and a hash of what the
    change wrote, so an undo restores exactly the previous object and can tell when the item was changed
    again since (its current metadata no longer hashes to `new_hash`).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="change_sets")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    operation = models.CharField(max_length=32)
    description = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=64, default="ui")
    item_count = models.PositiveIntegerField(default=0)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ChangeSetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="changeset_ws_created")]

    def __str__(self) -> str:
        return f"change set {self.pk} ({self.operation})"


class ChangeSetEntry(models.Model):
    """One item's previous metadata in a change set. An import writes a million of these, so the table keeps
    only what reads need: the (change set, item) key and the item index for deletions. Workspace, change set
    and item are not database-level foreign keys (each is one referential check per row at commit: 2.6 s of
    a 1,000,000-row import for the change set alone); Django still cascades deletions to entries, and entries
    are written only by `items.services`, inside the transaction that writes the item and after the change
    set exists."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    change_set = models.ForeignKey(
        ChangeSet, on_delete=models.CASCADE, related_name="entries", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="change_entries", db_constraint=False)
    previous = models.JSONField(default=dict, blank=True)
    new_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change_set", "item"], name="changeset_entry_unique_item")]

    def __str__(self) -> str:
        return f"entry {self.pk} of change set {self.change_set_id}"


class PgArrayField(models.Field):
    """A PostgreSQL array column (`base`[]) written and read only by raw SQL; text on SQLite, where it stays
    empty (the set-based writes that fill it are PostgreSQL's)."""

    def __init__(self, *args, base: str = "bigint", **kwargs):
        self.base = base
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["base"] = self.base
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        return f"{self.base}[]" if connection.vendor == "postgresql" else "text"


class ChangeSetBatch(models.Model):
    """The change-set record of one set-based write on PostgreSQL (a batch of an import by uid): the items it
    changed, in id order, each one's previous metadata and the `jsonb_hash_extended` of what it wrote, as three
    aligned arrays in one row instead of a `ChangeSetEntry` per item. An item written by several batches of one
    change set is in each; its first previous and its last hash are what undo uses (`items.services.batches`).
    Written only by `items.services` in the transaction that writes the items; read with raw SQL. Item ids are
    not references: a deleted item is skipped by the readers."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    change_set = models.ForeignKey(ChangeSet, on_delete=models.CASCADE, related_name="batches", db_constraint=False)
    item_ids = PgArrayField(base="bigint")
    previous = PgArrayField(base="jsonb")
    new_hashes = PgArrayField(base="bigint")

    def __str__(self) -> str:
        return f"batch {self.pk} of change set {self.change_set_id}"


class ChangeSetVector(models.Model):
    """One item's previous vector of one embedding field in a change set (vectors live in `media.Embedding`, not
    in the JSON document, so `ChangeSetEntry` cannot hold them): `previous` the bytes it held before (None: it
    had none), `new_hash` the sha256 of the bytes the change stored ("" when it removed the vector), so an undo
    restores exactly the previous vector and can tell when it was changed again since. Written with the item's
    metadata by `items.services` (same transaction); like entries, no database-level foreign keys."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    change_set = models.ForeignKey(
        ChangeSet, on_delete=models.CASCADE, related_name="vector_entries", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    field = models.CharField(max_length=100)
    previous = models.BinaryField(null=True, blank=True)
    new_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change_set", "item", "field"], name="changeset_vector_unique")
        ]

    def __str__(self) -> str:
        return f"{self.field} of item {self.item_id} in change set {self.change_set_id}"

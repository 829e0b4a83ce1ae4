"""Stored bytes of media, by content hash: the same bytes are stored once, and a storage name never changes
meaning (it is derived from the hash alone, never from a file name)."""

from django.db import models
from django.urls import reverse

from metadata_site.lib.taskmodel import BackgroundTask


class Blob(models.Model):
    """One stored original (an uploaded image or video). Items point at it (`Item.blob`); reading it is allowed
    only through an item of the reader's workspace, never by hash."""

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=64)  # sniffed from the bytes, one of sniff.ACCEPTED
    storage_name = models.CharField(max_length=200)  # e.g. originals/ab/cd/<sha256>
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.content_type} {self.sha256[:12]} ({self.size} bytes)"


class DuplicateScan(BackgroundTask):
    """The state of a workspace's near-duplicate search (`lookalike.find_duplicates`): one row a workspace, polled
    by the duplicates page while the task runs. Its progress is in percent (`done` of `total` = 100)."""

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    total = models.PositiveBigIntegerField(default=100)
    groups = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # What the search compares: "" for the built-in descriptor (`threshold` bits of 64, at most 7), else the name
    # of an embedding field (`threshold` a distance in the field's metric). None: the default (7 bits).
    source = models.CharField(max_length=100, blank=True, default="")
    threshold = models.FloatField(null=True, blank=True)

    kind_label = "Near-duplicate search"
    progress_unit = ""

    def __str__(self) -> str:
        return f"{self.status} {self.percent}%"

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-groups", "Groups", self.groups), ("count-grouped", "Items in groups", self.items)]

    @property
    def compared(self) -> str:
        """What the search compares, for the page: "the built-in descriptor, within 7 bits"."""
        if not self.source:
            bits = 7 if self.threshold is None else int(self.threshold)
            return f"the built-in descriptor, within {bits} bit{'s' if bits != 1 else ''} of 64"
        return f"the embedding “{self.source}”, within a distance of {self.threshold:g}"

    def get_absolute_url(self) -> str:
        return reverse("media:duplicates", args=[self.workspace.slug])


class MediaBatch(BackgroundTask):
    """One run of the media worker (`tasks.make_media`) over up to `services.BATCH` items just made pending:
    thumbnails and properties read from the real bytes; `ready` of them readable, `unreadable` not."""

    ready = models.PositiveIntegerField(default=0)
    unreadable = models.PositiveIntegerField(default=0)

    kind_label = "Thumbnails and properties"
    progress_unit = "items read"

    class Meta(BackgroundTask.Meta):
        indexes = [models.Index(fields=["workspace", "-created_at"], name="mediabatch_recent")]

    def __str__(self) -> str:
        return f"media batch {self.pk} ({self.total} items)"

    def get_absolute_url(self) -> str:
        # Its items show their media status in the explorer; the batch itself has no page of its own.
        return reverse("workspaces:tasks", args=[self.workspace.slug])

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-ready", "Ready", self.ready), ("count-unreadable", "Unreadable", self.unreadable)]


class Embedding(models.Model):
    """One item's vector for one embedding field of the schema: `dimension` little-endian float32 (2 KB for 512
    dimensions), never in the item's JSON document. Written by the metadata write services
    (`items.services`), read by "find similar" (`media.vectors`)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("items.Item", on_delete=models.CASCADE, related_name="embeddings")
    field = models.CharField(max_length=100)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "field"], name="embedding_unique_item_field")]
        indexes = [
            models.Index(fields=["workspace", "field", "item"], name="embedding_scan"),
            # the vectors written since an index was built (scored exactly next to the index's answer)
            models.Index(fields=["workspace", "field", "updated_at"], name="embedding_fresh"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {len(self.vector) // 4}-d vector"


class VectorIndex(BackgroundTask):
    """The approximate nearest-neighbour index (usearch) of one embedding field of a workspace, and its build as a
    background task like the others (status, progress in percent as `done` of `total` = 100, failure reason, shown
    on the Tasks page, recovered after a dead worker): built and kept up to date by the worker
    (`media.tasks.vector_index_build`), stored as a file under `VECTOR_INDEX_DIR`, one row a (workspace, field).
    The last built file (`file_name`) stays in use while the next one builds. `dirty` counts the vectors written
    since the last build."""

    field = models.CharField(max_length=100)
    total = models.PositiveBigIntegerField(default=100)
    size = models.PositiveIntegerField(default=0)  # vectors in the built file
    dimension = models.PositiveIntegerField(default=0)
    metric = models.CharField(max_length=10, blank=True)
    file_name = models.CharField(max_length=200, blank=True)  # relative to VECTOR_INDEX_DIR
    built_at = models.DateTimeField(null=True, blank=True)
    dirty = models.PositiveIntegerField(default=0)

    kind_label = "Vector index build"
    progress_unit = ""

    class Meta(BackgroundTask.Meta):
        constraints = [models.UniqueConstraint(fields=["workspace", "field"], name="vectorindex_unique_field")]

    def __str__(self) -> str:
        return f"{self.field}: {self.status} ({self.size} vectors)"

    @property
    def title(self) -> str:
        return f"embedding field {self.field}"

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-vectors", "Vectors in the index", self.size)]

    def get_absolute_url(self) -> str:
        return reverse("workspaces:tasks", args=[self.workspace.slug])


class MapMethod(models.TextChoices):
    PCA = "pca", "PCA"
    UMAP = "umap", "UMAP"


class EmbeddingMap(BackgroundTask):
    """The 2-D map of one embedding field of a workspace by one method (`media.embedding_map`): its build as a
    background task (progress in percent, `done` of `total` = 100; shown on the Tasks page, recovered after a dead
    worker) and what the last build made: `size` points in `MapPoint`, their bounds, and `grid`, a GRID × GRID
    count of the points over the bounds (row-major, y then x) from which the points endpoint estimates how many
    points a box holds without counting them. One row a (workspace, field, method); a rebuild replaces the
    points in one transaction."""

    field = models.CharField(max_length=100)
    method = models.CharField(max_length=10, choices=MapMethod.choices, default=MapMethod.PCA)
    total = models.PositiveBigIntegerField(default=100)
    size = models.PositiveIntegerField(default=0)  # points of the last build
    dimension = models.PositiveIntegerField(default=0)
    x_min = models.FloatField(default=0.0)
    x_max = models.FloatField(default=0.0)
    y_min = models.FloatField(default=0.0)
    y_max = models.FloatField(default=0.0)
    grid = models.JSONField(default=list, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0.0)  # how long the last build took

    kind_label = "Embedding map"
    progress_unit = ""

    class Meta(BackgroundTask.Meta):
        constraints = [models.UniqueConstraint(fields=["workspace", "field", "method"], name="embeddingmap_unique")]

    def __str__(self) -> str:
        return f"{self.field} ({self.method}): {self.status}, {self.size} points"

    @property
    def title(self) -> str:
        return f"{self.get_method_display()} map of {self.field}"

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-points", "Points", self.size)]

    def get_absolute_url(self) -> str:
        from urllib.parse import urlencode

        return reverse("media:map", args=[self.workspace.slug]) + "?" + urlencode({"field": self.field,
                                                                                   "method": self.method})


class MapPoint(models.Model):
    """One item's place on a map. `sample` is a hash of the item id in [0, SAMPLE_SPACE): the points endpoint keeps
    the points whose `sample` is below a threshold, the same points at every request (a deterministic sample)."""

    map = models.ForeignKey(EmbeddingMap, on_delete=models.CASCADE, related_name="points")
    item = models.ForeignKey("items.Item", on_delete=models.CASCADE, related_name="map_points")
    x = models.FloatField()
    y = models.FloatField()
    sample = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "map"], name="mappoint_unique_item_map")]
        indexes = [
            models.Index(fields=["map", "sample"], name="mappoint_sample"),  # the whole map, sampled
            models.Index(fields=["map", "x", "y"], name="mappoint_box"),  # a box of it (zoomed in, the filter)
        ]

    def __str__(self) -> str:
        return f"({self.x:.3f}, {self.y:.3f})"

"""The explorer's typed projection registry (PostgreSQL): which workspaces have one, and how it is kept.

See `explorer.projection` for the design. A row here is read by the ``items_item`` triggers on every
write statement, so it holds the SQL they run, not a description of it.
"""

from django.db import models
from django.urls import reverse

from metadata_site.lib.taskmodel import BackgroundTask


class Projection(models.Model):
    """One workspace's projection; its table is `projection.table_name(workspace_id)` and its columns
    `projection.columns_for(schema)`."""

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+")
    # sha1 of the layout and the projected fields (name, type, options, column): a schema change makes it stale.
    fingerprint = models.CharField(max_length=40)
    # Run by the triggers (with the transition table new_rows / old_rows in scope) while `maintained`.
    upsert_sql = models.TextField()
    delete_sql = models.TextField()
    maintained = models.BooleanField(default=False)
    # Filled, indexed and in step: the explorer counts from it.
    ready = models.BooleanField(default=False)
    built_at = models.DateTimeField(null=True, blank=True)
    # The count store's fine-bin grid per number / datetime column: {column: [origin, width]} (explorer.counts).
    count_grid = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} ({'ready' if self.ready else 'maintained' if self.maintained else 'off'})"


class IndexBuild(BackgroundTask):
    """One build of a workspace's field indexes and typed projection (`tasks.build_field_indexes`), queued after a
    schema change or a bulk import (`builds.index_build_queue`). Idempotent: a rerun builds only what is missing."""

    indexes_created = models.PositiveIntegerField(default=0)
    indexes_dropped = models.PositiveIntegerField(default=0)
    # What became of the typed projection: "built", "current", "skipped" (SQLite, no projected field), ...
    projection = models.CharField(max_length=40, blank=True)

    kind_label = "Index build"
    progress_unit = ""

    class Meta(BackgroundTask.Meta):
        indexes = [models.Index(fields=["workspace", "-created_at"], name="indexbuild_recent")]

    def __str__(self) -> str:
        return f"index build {self.pk} of workspace {self.workspace_id}"

    def get_absolute_url(self) -> str:
        # Builds follow the schema: its page is where a build comes from.
        return reverse("schemas:schema", args=[self.workspace.slug])

    @property
    def title(self) -> str:
        return f"projection {self.projection}" if self.projection else "field indexes and typed projection"

    def counters(self) -> list[tuple[str, str, int]]:
        return [("count-created", "Indexes created", self.indexes_created),
                ("count-dropped", "Indexes dropped", self.indexes_dropped)]

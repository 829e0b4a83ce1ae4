"""The explorer's typed projection registry (PostgreSQL): which workspaces have one, and how it is kept.

See `explorer.projection` for the design. A row here is read by the ``items_item`` triggers on every
write statement, so it holds the SQL they run, not a description of it.
"""

from django.db import models


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

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} ({'ready' if self.ready else 'maintained' if self.maintained else 'off'})"

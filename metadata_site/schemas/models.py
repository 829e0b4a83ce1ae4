from django.conf import settings
from django.db import models
from django.urls import reverse

from metadata_site.lib.taskmodel import BackgroundTask, TaskStatus
from metadata_site.workspaces.models import Workspace


class MetadataSchemaQuerySet(models.QuerySet):
    def for_workspace(self, workspace: Workspace) -> "MetadataSchemaQuerySet":
        return self.filter(workspace=workspace)


class MetadataSchema(models.Model):
    """One version of a workspace's declared metadata fields.

    Versions are never edited: declaring a field or importing a schema writes a new version, so
    every earlier version stays viewable. The current schema is the highest version.
    `fields` is a list of field declarations, see `metadata_site.schemas.fields.FieldSpec`.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="schemas")
    version = models.PositiveIntegerField()
    fields = models.JSONField(default=list)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MetadataSchemaQuerySet.as_manager()

    class Meta:
        ordering = ["workspace", "-version"]
        constraints = [models.UniqueConstraint(fields=["workspace", "version"], name="schema_unique_version")]

    def __str__(self) -> str:
        return f"{self.workspace} schema v{self.version}"


# Renames use the one status of every background task (RUNNING from the start: the schema switched already).
FieldRenameStatus = TaskStatus


class FieldRename(BackgroundTask):
    """The renaming of a declared field: the schema switches to the new name at once, then a background task
    moves the values of every item (`done` of `total`: the items holding the old key when it started), batch by
    batch, each batch a transaction that also moves `last_id` forward (so a restarted task goes on where the
    last committed batch stopped). All moves are one change set."""

    old_name = models.CharField(max_length=100)
    new_name = models.CharField(max_length=100)
    status = models.CharField(max_length=24, choices=TaskStatus.choices, default=TaskStatus.RUNNING)
    last_id = models.BigIntegerField(default=0)  # the restart point: every item up to it is done
    change_set = models.ForeignKey("items.ChangeSet", on_delete=models.CASCADE, related_name="+")

    kind_label = "Field rename"
    progress_unit = "items moved"

    class Meta(BackgroundTask.Meta):
        indexes = [models.Index(fields=["workspace", "-created_at"], name="fieldrename_recent")]

    def __str__(self) -> str:
        return f"{self.old_name} → {self.new_name}"

    @property
    def title(self) -> str:
        return f"{self.old_name} → {self.new_name}"

    @property
    def progress(self) -> int:
        """Percent done, 0-100 (the API's name for `percent`)."""
        return self.percent

    def get_absolute_url(self) -> str:
        return reverse("schemas:rename-status", args=[self.workspace.slug, self.pk])

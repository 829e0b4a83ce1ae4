from django.conf import settings
from django.db import models

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

import uuid

from django.conf import settings
from django.db import models

from metadata_site.workspaces.models import Workspace


class ImportKind(models.TextChoices):
    FIELD_VALUES = "field_values", "Field values"
    METADATA_ROWS = "metadata_rows", "Metadata rows"
    DATA = "data", "Data import"
    EXPORT = "export", "Export"


class ImportStatus(models.TextChoices):
    INIT = "INIT", "Waiting for a file"
    VALIDATING = "VALIDATING", "Validating"
    RUNNING = "RUNNING", "Running"
    COMPLETED = "COMPLETED", "Completed"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with errors"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


class ImportMode(models.TextChoices):
    MERGE = "merge", "Merge"
    OVERWRITE = "overwrite", "Overwrite"


class ImportTask(models.Model):
    """One bulk import (or export) run in the background; the row the browser polls for progress."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="import_tasks")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    # What it writes into: {"folder": id} / {"dataset": id} / {"field": name}.
    target = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=10, choices=ImportMode.choices, default=ImportMode.MERGE)
    status = models.CharField(max_length=24, choices=ImportStatus.choices, default=ImportStatus.INIT)
    progress = models.FloatField(default=0.0)
    inserted_rows = models.PositiveBigIntegerField(default=0)
    updated_rows = models.PositiveBigIntegerField(default=0)
    error_count = models.PositiveBigIntegerField(default=0)
    sample_errors = models.JSONField(default=list, blank=True)
    file_name = models.CharField(max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importtask_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uid}"

    @property
    def is_finished(self) -> bool:
        return self.status in {
            ImportStatus.COMPLETED,
            ImportStatus.COMPLETED_WITH_ERRORS,
            ImportStatus.FAILED,
            ImportStatus.CANCELLED,
        }

import uuid

from django.db import models
from django.urls import reverse

from metadata_site.lib.taskmodel import BackgroundTask, TaskStatus


class ImportKind(models.TextChoices):
    FIELD_VALUES = "field_values", "Field values"
    METADATA_ROWS = "metadata_rows", "Metadata rows"
    DATA = "data", "Data import"
    EXPORT = "export", "Export"
    MEDIA = "media", "Media files"


# Imports use the one status of every background task (INIT, VALIDATING and VALIDATED are theirs only).
ImportStatus = TaskStatus


class ApplyPolicy(models.TextChoices):
    SKIP_BAD_ROWS = "skip_bad_rows", "Apply, skipping bad rows"
    ONLY_IF_NO_ERRORS = "only_if_no_errors", "Apply only if there are no errors"


class ImportFormat(models.TextChoices):
    JSON = "json", "JSON"
    JSONL = "jsonl", "JSON Lines"
    CSV = "csv", "CSV"


class ImportMode(models.TextChoices):
    MERGE = "merge", "Merge"
    OVERWRITE = "overwrite", "Overwrite"


class ImportTask(BackgroundTask):
    """One bulk import, media import or export run in the background; the row the browser polls for progress.

    An import's bar is `progress` (the share of the file read, over the check and then the apply pass: its rows
    are known only once read); `total` is the rows in its file, and its counters say what became of them. An
    export's bar is `done` (items written) of `total` (items to write)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    # What it writes into: {"folder": id} / {"dataset": id} / {"field": name}.
    target = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=10, choices=ImportMode.choices, default=ImportMode.MERGE)
    status = models.CharField(max_length=24, choices=TaskStatus.choices, default=TaskStatus.INIT)
    progress = models.FloatField(default=0.0)
    # Where the apply pass starts on the progress bar: 0 after a dry run the user looked at; past the
    # check's share when the task checks and applies in one go, so progress only ever goes up.
    progress_base = models.FloatField(default=0.0)
    inserted_rows = models.PositiveBigIntegerField(default=0)
    updated_rows = models.PositiveBigIntegerField(default=0)
    unchanged_rows = models.PositiveBigIntegerField(default=0)
    file_name = models.CharField(max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    # The uploaded file (imports) or the written file (exports), relative to MEDIA_ROOT.
    file_path = models.CharField(max_length=500, blank=True)
    format = models.CharField(max_length=8, choices=ImportFormat.choices, blank=True)
    # A dry run only validates; otherwise the task applies with `policy` once validated.
    dry_run = models.BooleanField(default=True)
    policy = models.CharField(max_length=24, choices=ApplyPolicy.choices, blank=True)
    valid_rows = models.PositiveBigIntegerField(default=0)
    # Restart point of the apply pass: rows before it are committed, together with the counters,
    # sample errors and error report length stored in the same transaction.
    committed_offset = models.PositiveBigIntegerField(default=0)
    error_report_bytes = models.PositiveBigIntegerField(default=0)
    # Data imports: ids of the items this task created, as [low, high] ranges (for undo).
    created_ranges = models.JSONField(default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Every import is one change set (its "Undo this import").
    change_set = models.ForeignKey(
        "items.ChangeSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="import_tasks"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    kind_label = "Import"

    class Meta(BackgroundTask.Meta):
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importtask_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uid}"

    @property
    def title(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if self.is_export:
            return super().percent
        return 100 if self.status in (TaskStatus.COMPLETED, TaskStatus.COMPLETED_WITH_ERRORS) else int(self.progress)

    @property
    def progress_unit(self) -> str:
        return "items exported" if self.is_export else ""

    def counters(self) -> list[tuple[str, str, int]]:
        if self.is_export:
            return []
        if self.status == TaskStatus.VALIDATED or self.dry_run:
            return [("count-checked", "Rows checked", self.total), ("count-valid", "Valid rows", self.valid_rows),
                    ("count-errors", "Rows with errors", self.error_count)]
        return [("count-inserted", "Items created", self.inserted_rows),
                ("count-updated", "Items changed", self.updated_rows),
                ("count-unchanged", "Rows already up to date", self.unchanged_rows),
                ("count-errors", "Rows with errors", self.error_count)]

    def get_absolute_url(self) -> str:
        return reverse("imports:task", args=[self.workspace.slug, self.pk])

    def status_payload(self) -> dict:
        """The task as the Visual Layer status endpoint shows it (`inserted_rows`: rows applied)."""
        return {
            "task_id": str(self.uid),
            "status": self.status,
            "progress": float(self.progress),
            "inserted_rows": self.inserted_rows + self.updated_rows + self.unchanged_rows,
            "error_count": self.error_count,
            "sample_errors": list(self.sample_errors),
        }

    @property
    def is_export(self) -> bool:
        return self.kind == ImportKind.EXPORT

    @property
    def has_error_report(self) -> bool:
        return self.error_count > 0 and bool(self.file_path)

"""The one shape of a background task's row: every kind of background work (imports, exports, collection adds,
dataset builds, field renames, index builds, near-duplicate searches) is tracked by a model built on
`BackgroundTask`, so one progress fragment (``templates/_task_progress.html``), one Tasks page and one recovery
path (``imports/recovery.py``) serve them all.

A kind's model adds what only it has (its target, its own counters under honest names) and says how it is shown:
`kind_label`, `title`, `counters()` and `get_absolute_url()`. The worker's task writes `status`, `done`/`total`,
the counters, `error_count`/`sample_errors` and the timestamps on the row, outside any transaction, so the page
that polls it sees them while it runs.

This module imports no app: the workspace and the user are referenced by name.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone


class TaskStatus(models.TextChoices):
    """The status of every kind of background task. INIT, VALIDATING and VALIDATED are only an import's (it waits
    for its file, then checks it before it applies); the other kinds go QUEUED → RUNNING → an end."""

    INIT = "INIT", "Waiting for a file"
    QUEUED = "QUEUED", "Queued"
    VALIDATING = "VALIDATING", "Validating"
    VALIDATED = "VALIDATED", "Checked, waiting to apply"
    RUNNING = "RUNNING", "Running"
    COMPLETED = "COMPLETED", "Completed"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with errors"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


# A worker is (or should be) on it: a row in one of these whose worker died is queued again by recover_tasks.
ACTIVE_STATUSES = (TaskStatus.QUEUED, TaskStatus.VALIDATING, TaskStatus.RUNNING)
FINISHED_STATUSES = (TaskStatus.COMPLETED, TaskStatus.COMPLETED_WITH_ERRORS, TaskStatus.FAILED, TaskStatus.CANCELLED)
class BackgroundTask(models.Model):
    """Status, progress (`done` of `total`), errors, timestamps, who started it and where, for one background task.

    `sample_errors` is a list of ``{"reason": ..., "row_index": n}`` (a row of a file) or ``{"reason": ...,
    "where": ...}`` (anything else), the first few (imports keep 100) of `error_count`; `failure_reason` says why
    the whole task failed. `arguments` are the keyword arguments it was queued with (`lib.background.queue_work`),
    kept so that recovery can queue it again the same way whatever its kind; `task_result_id` is its
    django-tasks result, to tell a task whose worker died from one still queued or running."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=24, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    error_count = models.PositiveBigIntegerField(default=0)
    sample_errors = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    task_result_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # What the Tasks page calls this kind (a model with a `kind` field shows that field's label instead).
    kind_label = "Background task"
    # The unit of `done` and `total` ("items", "rows"); empty when the bar is all there is to show.
    progress_unit = "items"
    # Foreign keys the Tasks page follows to show `title` (select_related).
    list_related: tuple[str, ...] = ()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def get_absolute_url(self) -> str:
        raise NotImplementedError

    @property
    def kind_name(self) -> str:
        display = getattr(self, "get_kind_display", None)
        return display() if display else self.kind_label

    @property
    def title(self) -> str:
        """What the task works on, in a few words."""
        return ""

    @property
    def percent(self) -> int:
        """Percent done, 0-100; 100 only once it completed."""
        if self.status in (TaskStatus.COMPLETED, TaskStatus.COMPLETED_WITH_ERRORS):
            return 100
        return min(99, (self.done * 100) // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def counters(self) -> list[tuple[str, str, int]]:
        """The kind's own counters as (html id, label, value), shown under the progress bar."""
        return []

    def mark_failed(self, reason: str) -> None:
        """End the task as FAILED with `reason` (written at once, outside the worker's transaction)."""
        type(self).objects.filter(pk=self.pk).update(
            status=TaskStatus.FAILED, failure_reason=reason[:2000], finished_at=timezone.now()
        )


def task_models() -> list[type[BackgroundTask]]:
    """Every installed model built on `BackgroundTask` (the kinds of background task), in a stable order."""
    return sorted(
        (m for m in apps.get_models() if issubclass(m, BackgroundTask)),
        key=lambda m: m._meta.label,
    )

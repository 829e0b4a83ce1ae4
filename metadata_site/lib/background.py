"""How a service queues background work without importing its own app's ``tasks.py``.

``tasks.py`` imports the services it runs, so a service that imported ``tasks.py`` back made an import cycle
(checked by the import-linter contracts in ``pyproject.toml``). Instead the service saves the row that tracks
the work and calls `queue_work` with it, inside its transaction; the app's ``tasks.py`` connects a receiver for
that row's model (the app config imports ``tasks.py`` at ready), enqueues the task right there and returns its
result, so the queued task commits or rolls back with the row.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.dispatch import Signal

# Sent with `sender` = the model class of the row that tracks the work, `row` = that row, and the task's
# other arguments as keywords.
work_queued = Signal()


def queue_work(row: models.Model, **arguments) -> None:
    """Enqueue the background task that works on `row`; fails loudly when no ``tasks.py`` receiver is connected
    (work that is saved but never queued would wait forever).

    A row built on `lib.taskmodel.BackgroundTask` keeps `arguments` (so that recovery can queue it again the same
    way, whatever its kind) and the id of the task result the receiver returns (to tell a dead worker's task)."""
    tracked = hasattr(row, "task_result_id") and hasattr(row, "arguments")
    if tracked:
        row.arguments = arguments
        type(row).objects.filter(pk=row.pk).update(arguments=arguments)
    responses = work_queued.send(sender=type(row), row=row, **arguments)
    if not responses:
        raise ImproperlyConfigured(f"No task is connected to work_queued for {type(row).__name__}")
    result = responses[0][1]
    if tracked and result is not None:
        row.task_result_id = str(result.id)
        type(row).objects.filter(pk=row.pk).update(task_result_id=row.task_result_id)

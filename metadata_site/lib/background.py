"""How a service queues background work without importing its own app's ``tasks.py``.

``tasks.py`` imports the services it runs, so a service that imported ``tasks.py`` back made an import cycle
(checked by the import-linter contracts in ``pyproject.toml``). Instead the service saves the row that tracks
the work and calls `queue_work` with it, inside its transaction; the app's ``tasks.py`` connects a receiver for
that row's model (the app config imports ``tasks.py`` at ready) and enqueues the task right there, so the queued
task commits or rolls back with the row, as before.
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
    (work that is saved but never queued would wait forever)."""
    if not work_queued.send(sender=type(row), row=row, **arguments):
        raise ImproperlyConfigured(f"No task is connected to work_queued for {type(row).__name__}")

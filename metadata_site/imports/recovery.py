"""Background tasks whose worker died are found and queued again (`manage.py recover_tasks`).

Every background task (imports, exports, explorer index and projection builds, large collection adds, dataset
builds, field renames, near-duplicate searches, media work, table maintenance) is a django-tasks-db `DBTaskResult`; a worker marks it RUNNING when it claims it and
never again if the process dies, so the task would stay RUNNING, undone, for good. Every task of this project is
safe to run again: imports resume from their last committed batch, exports start their file again, index and
projection builds and maintenance are idempotent, collection adds and dataset builds skip what is already in,
field renames go on from their last committed batch, a near-duplicate search starts again.

Liveness. While a worker of the database backend runs a task it holds a *liveness lock* named after the task,
which the operating system or the database releases when the process dies, however it dies:

- PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a connection of its own, which PostgreSQL drops
  with the session when the process (or its host) goes away; workers on several hosts are covered;
- SQLite: an exclusive `flock` of a file in `TASK_LOCK_DIR` (SQLite is one host; the kernel drops the lock with
  the process).

The rule: a task RUNNING for longer than `CLAIM_GRACE_SECONDS` whose liveness lock can be taken has no live
worker, and is queued again (READY, the same task result, so whatever refers to it still does). The grace covers
the moment between a worker's claim and its taking the lock; `recover_tasks` waits it out rather than skip a
task. Then the task rows (`lib.taskmodel.BackgroundTask`, every kind) that still say they are queued or run while
their task result finished or is gone are queued again, one code path for all kinds (`recover_task_rows`).
"""

import fcntl
import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from metadata_site.lib.background import queue_work
from metadata_site.lib.taskmodel import ACTIVE_STATUSES, task_models

logger = logging.getLogger(__name__)

NOT_REQUEUED = "The worker running this task stopped, and the task could not be queued again: {reason}"

CLAIM_GRACE_SECONDS = 5.0

# Liveness locks this process holds, by task result id: a connection (PostgreSQL) or an open file (SQLite).
_held: dict[str, Any] = {}


def _lock_key(task_id: str) -> int:
    # A signed 64-bit key of its own namespace ("msx-task"), apart from the projection's 32-bit keys.
    return (0x6D78 << 48) | (zlib.crc32(str(task_id).encode()) << 16) | (zlib.adler32(str(task_id).encode()) & 0xFFFF)


def _lock_path(task_id: str) -> Path:
    return Path(settings.TASK_LOCK_DIR) / f"{task_id}.lock"


def liveness_acquire(task_id: str) -> None:
    """Take the liveness lock of a task this process starts (see the module docstring)."""
    task_id = str(task_id)
    if task_id in _held:
        return
    if connection.vendor == "postgresql":
        conn = connection.get_new_connection(connection.get_connection_params())
        conn.autocommit = True
        conn.execute("SELECT pg_advisory_lock(%s)", [_lock_key(task_id)])
        _held[task_id] = conn
    else:
        path = _lock_path(task_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held[task_id] = handle


def liveness_release(task_id: str) -> None:
    held = _held.pop(str(task_id), None)
    if held is None:
        return
    if connection.vendor == "postgresql":
        held.close()  # ends the session, and its advisory lock with it
    else:
        _lock_path(str(task_id)).unlink(missing_ok=True)
        held.close()


def _has_live_worker(task_id: str) -> bool:
    """Whether some process holds the task's liveness lock (tried without waiting, then given back)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(task_id)])
            if not cursor.fetchone()[0]:
                return True
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(task_id)])
        return False
    path = _lock_path(task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    path.unlink(missing_ok=True)
    return False


def on_task_started(sender, task_result, **kwargs) -> None:
    # The database worker sends its backend, the immediate backend its class: only the former can be orphaned.
    if isinstance(sender, DatabaseBackend):
        try:
            liveness_acquire(task_result.id)
        except Exception:  # a worker that cannot take its lock still runs the task; recovery may then rerun it
            logger.exception("Could not take the liveness lock of task %s", task_result.id)


def on_task_finished(sender, task_result, **kwargs) -> None:
    liveness_release(task_result.id)


@dataclass
class Recovered:
    task_id: str
    task_path: str
    what: str


def recover_tasks(*, grace_seconds: float = CLAIM_GRACE_SECONDS) -> list[Recovered]:
    """Queue again every task left RUNNING by a dead worker, then every task row of any kind (imports, exports,
    collection adds, dataset builds, field renames, index builds, near-duplicate searches) that says it is queued
    or running while its task result is finished or gone. Returns what was queued."""
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    started = [s for s in running.values_list("started_at", flat=True) if s is not None]
    if started:
        wait = grace_seconds - (timezone.now() - max(started)).total_seconds()
        if wait > 0:
            time.sleep(wait)
    recovered: list[Recovered] = []
    for result in running.only("id", "task_path", "worker_ids"):
        if _has_live_worker(str(result.id)):
            continue
        # Only if still RUNNING: its worker may have finished it meanwhile.
        if DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        ):
            dead = result.worker_ids[-1] if result.worker_ids else "?"
            recovered.append(Recovered(str(result.id), result.task_path, f"requeued (worker {dead} is gone)"))
    return recovered + recover_task_rows() + recover_stale_projections()


def recover_task_rows() -> list[Recovered]:
    """Queue again, the same way whatever their kind (`queue_work(row, **row.arguments)`), the task rows that
    are queued or running while no task result that could run them is ready or running: their worker died after
    its task result was marked finished, or the result was pruned. Each kind is safe to run again (see above)."""
    live_results = {str(pk) for pk in DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).values_list("pk", flat=True)}
    recovered: list[Recovered] = []
    for model in task_models():
        for row in model.objects.filter(status__in=ACTIVE_STATUSES).select_related("workspace").order_by("pk"):
            if row.task_result_id and row.task_result_id in live_results:
                continue
            try:
                queue_work(row, **row.arguments)
            except (TypeError, ImproperlyConfigured) as exc:  # a row whose arguments cannot queue its task
                row.mark_failed(NOT_REQUEUED.format(reason=exc))
                logger.warning("%s %s not queued again: %s", model._meta.label, row.pk, exc)
                continue
            recovered.append(Recovered(row.task_result_id, model._meta.label,
                                       f"{row.kind_name.lower()} {row.pk} queued again ({row.done} of {row.total} done)"))
    return recovered


def recover_stale_projections() -> list[Recovered]:
    """Queue a build for every workspace whose typed projection exists but no longer fits (an upgrade changed its
    layout, e.g. the count store came with layout 3), unless a build is already queued or running. Until it runs
    the explorer counts from the JSON: exact, slower. Nothing on SQLite (no projections there)."""
    from metadata_site.explorer import projection
    from metadata_site.explorer.builds import index_build_queue
    from metadata_site.explorer.models import IndexBuild, Projection
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Workspace

    if connection.vendor != "postgresql":
        return []
    recovered: list[Recovered] = []
    building = set(IndexBuild.objects.filter(status__in=ACTIVE_STATUSES).values_list("workspace_id", flat=True))
    for workspace in Workspace.objects.filter(pk__in=Projection.objects.values("workspace_id")).order_by("pk"):
        if workspace.pk in building:
            continue
        if projection.is_missing(workspace_id=workspace.pk, schema=schema_current(workspace=workspace)):
            build = index_build_queue(workspace_id=workspace.pk)
            recovered.append(Recovered(build.task_result_id, IndexBuild._meta.label,
                                       f"queued: the explorer projection of {workspace.slug} is out of date"))
    return recovered

"""Background work of the explorer: index and projection builds after a schema change or a bulk import.

`builds.index_build_queue` saves an `IndexBuild` row and queues it with `queue_work(build)`; `_enqueue` below
(connected when the app is ready) enqueues the task, which reports on that row."""

from django.dispatch import receiver
from django.tasks import task
from django.utils import timezone

from metadata_site.lib.background import work_queued
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace

from . import projection
from .indexes import ensure_field_indexes
from .models import IndexBuild


@task()
def build_field_indexes(workspace_id: int, build_id: int | None = None) -> dict:
    """Bring the workspace's field indexes and typed projection in step with its current schema (idempotent),
    reporting on the `IndexBuild` row `build_id` when it was queued with one."""
    builds = IndexBuild.objects.filter(pk=build_id) if build_id is not None else IndexBuild.objects.none()
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"created": [], "dropped": [], "projection": "skipped"}
    now = timezone.now()
    builds.update(status=TaskStatus.RUNNING, started_at=now, heartbeat_at=now, total=1)
    try:
        schema = schema_current(workspace=workspace)
        result = ensure_field_indexes(workspace_id=workspace_id, schema=schema)
        result["projection"] = projection.build(workspace_id=workspace_id, schema=schema)
    except Exception as exc:
        for build in builds:
            build.mark_failed(str(exc))
        raise
    builds.update(status=TaskStatus.COMPLETED, done=1, indexes_created=len(result["created"]),
                  indexes_dropped=len(result["dropped"]), projection=str(result["projection"])[:40],
                  finished_at=timezone.now())
    return result


@task()
def maintain_projection(workspace_id: int) -> bool:
    """VACUUM (ANALYZE) the workspace's typed projection after a bulk write kept it in step."""
    return projection.vacuum(workspace_id=workspace_id)


@receiver(work_queued, sender=IndexBuild, dispatch_uid="explorer.enqueue")
def _enqueue(sender, *, row: IndexBuild, **kwargs):
    return build_field_indexes.enqueue(workspace_id=row.workspace_id, build_id=row.pk)

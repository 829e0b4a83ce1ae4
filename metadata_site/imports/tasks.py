"""Background tasks of imports, run by `manage.py db_worker` (arguments are JSON: task pks).

The services queue a task row with `queue_work(task)`; `_enqueue` below (connected when the app is ready) picks
the worker task for the row's kind, so services, exports and media imports never import this module."""

from django.dispatch import receiver
from django.tasks import task

from metadata_site.lib.background import work_queued

from .exports import export_task_run
from .media_import import media_import_run
from .models import ImportKind, ImportTask
from .services import import_task_run


@task()
def run_import(task_id: int) -> str:
    """Check and/or apply one import task; safe to run again after a crash (it resumes)."""
    if ImportTask.objects.filter(pk=task_id, kind=ImportKind.MEDIA).exists():
        return media_import_run(task_id=task_id)
    return import_task_run(task_id=task_id)


@task()
def run_export(task_id: int) -> str:
    """Write one export file; a rerun starts the file again."""
    return export_task_run(task_id=task_id)


@receiver(work_queued, sender=ImportTask, dispatch_uid="imports.enqueue")
def _enqueue(sender, *, row: ImportTask, **kwargs):
    # With the database backend the queued row becomes visible to the worker when the caller's
    # transaction commits; the immediate backend (tests) runs the task right here.
    return (run_export if row.kind == ImportKind.EXPORT else run_import).enqueue(row.pk)

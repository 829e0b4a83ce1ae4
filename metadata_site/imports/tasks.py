"""Background tasks of imports, run by `manage.py db_worker` (arguments are JSON: task pks)."""

from django.tasks import task

from .exports import export_task_run
from .services import import_task_run


@task()
def run_import(task_id: int) -> str:
    """Check and/or apply one import task; safe to run again after a crash (it resumes)."""
    return import_task_run(task_id=task_id)


@task()
def run_export(task_id: int) -> str:
    """Write one export file; a rerun starts the file again."""
    return export_task_run(task_id=task_id)

"""Background tasks of imports, run by `manage.py db_worker` (arguments are JSON: task pks)."""

from django.tasks import task

from .services import import_task_run


@task()
def run_import(task_id: int) -> str:
    """Check and/or apply one import task; safe to run again after a crash (it resumes)."""
    return import_task_run(task_id=task_id)

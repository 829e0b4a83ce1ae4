"""Shared helpers of the import tests: the corpus schema and a one-call import runner."""

import json

from metadata_site.imports.models import ImportTask
from metadata_site.imports.services import import_task_create, import_task_upload
from metadata_site.lib.corpus import schema_fields

from ..factories import make_schema


def corpus_schema(workspace):
    return make_schema(workspace, schema_fields())


def run_import(workspace, user, content, name, *, kind="metadata_rows", target=None, mode="merge",
               dry_run=False, policy="skip_bad_rows", file_format=None) -> ImportTask:
    """Create a task, upload `content` (str, bytes, or a list/dict dumped as JSON) and return it after
    the (immediate) worker ran."""
    if isinstance(content, list | dict):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode()
    task = import_task_create(workspace=workspace, user=user, kind=kind, target=target or {}, mode=mode,
                              dry_run=dry_run, policy=policy)
    import_task_upload(task=task, name=name, chunks=[content[i:i + 1000] for i in range(0, len(content), 1000)],
                       file_format=file_format)
    task.refresh_from_db()
    return task


def recover_after_kill(task_result_id, *, timeout: float = 15.0):
    """Run `recover_tasks` until the task result a killed worker held is queued again (or `timeout` passes) and
    return it: PostgreSQL ends the dead worker's sessions, and with them its liveness lock, once it notices the
    closed sockets, a moment after the kill; until then the task rightly looks alive and is left alone."""
    import time

    from django.core.management import call_command
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    while True:
        call_command("recover_tasks", "--grace", "0")
        result = DBTaskResult.objects.get(pk=task_result_id)
        if result.status != TaskResultStatus.RUNNING or time.monotonic() > deadline:
            return result
        time.sleep(0.2)

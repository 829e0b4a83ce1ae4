"""The real worker: `manage.py db_worker` in a subprocess runs queued imports (PostgreSQL only: the
subprocess must reach the test database), and a worker killed mid-import is resumed by
`recover_tasks` (only once the worker is dead: while it runs, its liveness lock keeps the task its own) and
finishes with the same result as an uninterrupted run."""

import json
import signal
import time

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from metadata_site.imports.models import ImportTask
from metadata_site.imports.services import import_task_create, import_task_upload_path
from metadata_site.items.models import Item
from metadata_site.items.services import change_set_entries

from ..factories import make_folder, make_item
from .helpers import corpus_schema, recover_after_kill

pytestmark = pytest.mark.django_db(transaction=True)

def _queue(workspace, owner, folder, path):
    task = import_task_create(workspace=workspace, user=owner, kind="metadata_rows", target={"folder": folder.pk},
                              dry_run=False, policy="skip_bad_rows")
    import_task_upload_path(task=task, path=path)
    return task


def test_the_worker_process_runs_a_queued_import(workspace, owner, tmp_path, real_worker):
    corpus_schema(workspace)
    folder = make_folder(workspace, "f")
    item = make_item(folder, "a.jpg")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"title": "a.jpg", "metadata": {"dark": True}}]))
    task = _queue(workspace, owner, folder, path)
    assert ImportTask.objects.get(pk=task.pk).status == "VALIDATING"
    real_worker("--batch").wait(timeout=60)
    task.refresh_from_db()
    assert (task.status, task.updated_rows) == ("COMPLETED", 1)
    item.refresh_from_db()
    assert item.client_metadata == {"dark": True}


def test_a_killed_worker_is_resumed_from_its_last_committed_batch(workspace, owner, tmp_path, real_worker):
    corpus_schema(workspace)
    folder = make_folder(workspace, "f")
    n = 25_000
    Item.objects.bulk_create([Item(workspace=workspace, folder=folder, title=f"i{k:06d}") for k in range(n)])
    path = tmp_path / "rows.jsonl"
    with path.open("w") as out:
        for k in range(n):
            out.write(json.dumps({"title": f"i{k:06d}", "metadata": {"camera": f"cam-{k}"}}) + "\n")
    task = _queue(workspace, owner, folder, path)
    worker = real_worker()
    deadline = time.monotonic() + 120
    while ImportTask.objects.get(pk=task.pk).committed_offset == 0:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    result = DBTaskResult.objects.get(pk=task.task_result_id)
    assert result.status == TaskResultStatus.RUNNING
    call_command("recover_tasks", "--grace", "0")  # the worker is alive: nothing to recover
    result.refresh_from_db()
    assert result.status == TaskResultStatus.RUNNING and result.started_at is not None
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    task.refresh_from_db()
    assert task.status == "RUNNING" and 0 < task.committed_offset < n
    result = recover_after_kill(result.pk)
    assert result.status == TaskResultStatus.READY, "the dead worker's task is queued again, the same result"
    real_worker("--batch").wait(timeout=180)
    task.refresh_from_db()
    assert (task.status, task.updated_rows, task.error_count, task.committed_offset) == ("COMPLETED", n, 0, n)
    assert len(change_set_entries(task.change_set)) == n
    assert Item.objects.filter(folder=folder, client_metadata__camera__startswith="cam-").count() == n

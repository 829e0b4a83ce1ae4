"""Several `manage.py db_worker` processes share one PostgreSQL queue and never run a task twice.

Three real workers are started and have logged that they poll; then imports (metadata rows into four folders, and
a data import that creates items), index and projection builds and exports are queued at once. Each task result
must be claimed by exactly one worker (django-tasks-db records every claim in `worker_ids`), every task must have
succeeded, every side effect must be there exactly once (rows updated, change-set entries, items created, export
lines), and more than one worker must have done some of the work (otherwise the test proves nothing).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from metadata_site.explorer.tasks import build_field_indexes
from metadata_site.imports.exports import export_file_path, export_task_create
from metadata_site.imports.models import ImportTask
from metadata_site.imports.services import import_task_create, import_task_upload_path
from metadata_site.items.models import Item
from metadata_site.items.services import change_set_entries

from ..factories import make_folder
from ..imports.helpers import corpus_schema

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("worker-a", "worker-b", "worker-c")
FOLDERS, ROWS, NEW_ITEMS = 4, 1000, 500
FINISHED = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)


@pytest.fixture
def workers(settings, tmp_path):
    """start() runs the WORKERS on the test database, returns once each has logged that it polls the queue."""
    if connection.vendor != "postgresql":
        pytest.skip("worker processes cannot reach the in-memory SQLite test database (PostgreSQL only)")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.MEDIA_ROOT = tmp_path
    db = connection.settings_dict
    env = {**os.environ, "MEDIA_ROOT": str(tmp_path), "DATABASE_CONN_MAX_AGE": "0", "LOG_LEVEL": "INFO",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    env.pop("DATABASE_REPLICA_URLS", None)
    processes: list[subprocess.Popen] = []

    def start() -> None:
        logs = []
        for worker_id in WORKERS:
            log = tmp_path / f"{worker_id}.log"
            logs.append(log)
            with log.open("w") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1",
                     "--worker-id", worker_id, "--queue-name", "default"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                ))
        deadline = time.monotonic() + 90
        while not all("Starting worker" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text()[-500:] for log in logs]
            assert all(p.poll() is None for p in processes), [log.read_text()[-2000:] for log in logs]
            time.sleep(0.1)

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_the_queue_is_done(timeout: float = 180) -> None:
    """Until no task of the default queue is ready or running, twice in a row (an import queues follow-up tasks
    as it ends; the media queue, which these workers leave alone, gets the new items' thumbnails)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        assert time.monotonic() < deadline, list(DBTaskResult.objects.values_list("task_path", "status", "worker_ids"))
        busy = DBTaskResult.objects.filter(queue_name="default").exclude(status__in=FINISHED).exists()
        quiet = 0 if busy else quiet + 1
        time.sleep(0.5)


def test_several_workers_share_imports_builds_and_exports_and_run_each_task_once(workspace, owner, tmp_path,
                                                                                  workers):
    corpus_schema(workspace)
    folders = [make_folder(workspace, f"f{n}") for n in range(FOLDERS)]
    for n, folder in enumerate(folders):
        Item.objects.bulk_create([Item(workspace=workspace, folder=folder, title=f"f{n}-{k:05d}.jpg")
                                  for k in range(ROWS)])
    files = []
    for n in range(FOLDERS):
        path = tmp_path / f"rows-{n}.jsonl"
        path.write_text("".join(json.dumps({"title": f"f{n}-{k:05d}.jpg", "metadata": {"camera": f"cam-{n}-{k}"}})
                                + "\n" for k in range(ROWS)))
        files.append(path)
    new_folder = make_folder(workspace, "new")
    data = tmp_path / "images.json"
    data.write_text(json.dumps({"images": [{"objectUrl": f"https://cdn.example.com/{k}.jpg", "title": f"new-{k}.jpg"}
                                           for k in range(NEW_ITEMS)]}))

    workers()
    with transaction.atomic():  # the workers find everything queued at once
        imports = []
        for folder, path in zip(folders, files, strict=True):
            task = import_task_create(workspace=workspace, user=owner, kind="metadata_rows",
                                      target={"folder": folder.pk}, dry_run=False, policy="skip_bad_rows")
            imports.append(import_task_upload_path(task=task, path=path))
        task = import_task_create(workspace=workspace, user=owner, kind="data", target={"folder": new_folder.pk},
                                  dry_run=False, policy="skip_bad_rows")
        data_import = import_task_upload_path(task=task, path=data)
        builds = [build_field_indexes.enqueue(workspace_id=workspace.pk) for _ in range(3)]
        exports = [export_task_create(workspace=workspace, user=owner, params={"scope": [f"folder:{folder.pk}"]},
                                      fmt="jsonl") for folder in folders]
    _wait_until_the_queue_is_done()

    results = list(DBTaskResult.objects.filter(queue_name="default"))
    assert len(results) >= len(imports) + 1 + len(builds) + len(exports)
    failed = [(r.task_path, r.traceback[-1500:]) for r in results if r.status != TaskResultStatus.SUCCESSFUL]
    assert not failed, "\n\n".join(f"{path}:\n{trace}" for path, trace in failed)
    claims = {str(r.id): r.worker_ids for r in results}
    assert all(len(ids) == 1 for ids in claims.values()), f"a task was claimed more than once: {claims}"
    assert len({ids[0] for ids in claims.values()}) >= 2, "the work was shared between workers"
    assert {str(b.id) for b in builds} <= set(claims)

    for n, (folder, task) in enumerate(zip(folders, imports, strict=True)):
        task.refresh_from_db()
        assert (task.status, task.updated_rows, task.error_count) == ("COMPLETED", ROWS, 0)
        assert len(change_set_entries(task.change_set)) == ROWS
        assert Item.objects.filter(folder=folder, client_metadata__camera__startswith=f"cam-{n}-").count() == ROWS
    data_import.refresh_from_db()
    assert (data_import.status, data_import.inserted_rows) == ("COMPLETED", NEW_ITEMS)
    assert Item.objects.filter(folder=new_folder).count() == NEW_ITEMS, "each item created once"
    for export in exports:
        export = ImportTask.objects.get(pk=export.pk)
        assert export.status == "COMPLETED"
        assert len(export_file_path(export).read_text().splitlines()) == ROWS

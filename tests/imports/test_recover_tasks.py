"""`recover_tasks`: a background task left RUNNING by a worker that died is queued again and completes; a task
whose worker is alive (it holds the task's liveness lock) is left alone. The explorer says when its indexes are
being rebuilt."""

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from metadata_site.explorer.indexes import missing_field_indexes
from metadata_site.explorer.tasks import build_field_indexes, maintain_projection
from metadata_site.imports.recovery import liveness_acquire, liveness_release, recover_tasks
from metadata_site.schemas.selectors import schema_current

from ..factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE = "Indexes are being rebuilt: counts are exact but slower."


@pytest.fixture
def db_backend(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.TASK_LOCK_DIR = tmp_path / "locks"


def _claimed_by_a_worker_that_died(task_path: str) -> DBTaskResult:
    result = DBTaskResult.objects.get(task_path=task_path, status=TaskResultStatus.READY)
    result.claim("worker-that-died")
    return result


def test_an_index_build_left_running_by_a_dead_worker_is_queued_again_and_completes(
        db_backend, workspace, owner, viewer, stranger, login):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
                            {"name": "t", "type": "float"}])
    make_item(make_folder(workspace, "f"), "a.jpg", metadata={"weather": "Sunny", "t": 1.0})
    build_field_indexes.enqueue(workspace_id=workspace.pk)  # what the schema change queues
    orphan = _claimed_by_a_worker_that_died(build_field_indexes.module_path)
    schema = schema_current(workspace=workspace)
    assert missing_field_indexes(workspace_id=workspace.pk, schema=schema)
    count_url = reverse("explorer:count", args=["acme"])
    for user in (owner, viewer):
        assert NOTICE in login(user).get(count_url).content.decode()
    assert login(stranger).get(count_url).status_code == 404

    recovered = recover_tasks(grace_seconds=0)
    assert [(r.task_id, r.task_path) for r in recovered] == [(str(orphan.pk), build_field_indexes.module_path)]
    orphan.refresh_from_db()
    assert orphan.status == TaskResultStatus.READY

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    orphan.refresh_from_db()
    assert orphan.status == TaskResultStatus.SUCCESSFUL
    assert missing_field_indexes(workspace_id=workspace.pk, schema=schema) == []
    response = login(owner).get(count_url)
    assert 'data-total="1"' in response.content.decode() and NOTICE not in response.content.decode()


def test_a_task_whose_worker_is_alive_is_left_alone(db_backend, workspace):
    maintain_projection.enqueue(workspace_id=workspace.pk)
    running = _claimed_by_a_worker_that_died(maintain_projection.module_path)
    liveness_acquire(running.pk)  # what a live worker holds while it runs the task
    try:
        assert recover_tasks(grace_seconds=0) == []
        running.refresh_from_db()
        assert running.status == TaskResultStatus.RUNNING
    finally:
        liveness_release(running.pk)
    assert [r.task_id for r in recover_tasks(grace_seconds=0)] == [str(running.pk)]


def test_a_just_claimed_task_is_given_the_grace_to_take_its_lock(db_backend, workspace):
    import time

    maintain_projection.enqueue(workspace_id=workspace.pk)
    _claimed_by_a_worker_that_died(maintain_projection.module_path)
    start = time.monotonic()
    assert len(recover_tasks(grace_seconds=0.5)) == 1
    assert time.monotonic() - start >= 0.4


def test_the_command_reports_what_it_queued_again_and_resume_imports_is_its_alias(db_backend, workspace, capsys):
    maintain_projection.enqueue(workspace_id=workspace.pk)
    orphan = _claimed_by_a_worker_that_died(maintain_projection.module_path)
    call_command("resume_imports", "--grace", "0")
    out = capsys.readouterr().out
    assert f"{maintain_projection.module_path} {orphan.pk}: requeued (worker worker-that-died is gone)" in out
    assert "1 task(s) queued again." in out
    call_command("recover_tasks", "--grace", "0")
    assert "queued again" not in capsys.readouterr().out

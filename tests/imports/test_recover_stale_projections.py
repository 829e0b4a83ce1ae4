"""`recover_tasks` (run by `make run` and `make worker`) queues a build for a workspace whose explorer projection
no longer fits its layout (an upgrade changed it), once, and the worker makes it current again (PostgreSQL: there
are no projections on SQLite)."""

import pytest
from django.core.management import call_command
from django.db import connection

from metadata_site.explorer import projection
from metadata_site.explorer.models import IndexBuild, Projection
from metadata_site.imports.recovery import recover_tasks
from metadata_site.schemas.selectors import schema_current

from ..factories import make_folder, make_item, make_schema

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="projections exist on PostgreSQL only"),
]


@pytest.fixture
def db_backend(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.TASK_LOCK_DIR = tmp_path / "locks"


@pytest.fixture
def built(workspace):
    make_schema(workspace, [{"name": "temp", "type": "float"}])
    folder = make_folder(workspace, "f")
    for n in range(3):
        make_item(folder, f"i{n}.jpg", metadata={"temp": float(n)})
    projection.build(workspace_id=workspace.pk, schema=schema_current(workspace=workspace))
    IndexBuild.objects.all().delete()
    return workspace


def test_a_projection_of_an_older_layout_gets_one_build_queued_and_is_current_after_it(db_backend, built):
    Projection.objects.filter(workspace=built).update(fingerprint="from-an-older-release")

    recovered = recover_tasks(grace_seconds=0)
    assert [r.task_path for r in recovered] == ["explorer.IndexBuild"]
    assert "out of date" in recovered[0].what
    assert recover_tasks(grace_seconds=0) == []  # its build is queued: not a second one

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    assert not projection.is_missing(workspace_id=built.pk, schema=schema_current(workspace=built))


def test_a_current_projection_queues_nothing(db_backend, built):
    assert connection.vendor == "postgresql"
    assert recover_tasks(grace_seconds=0) == []
    assert not IndexBuild.objects.exists()

"""`recover_tasks` recovers a task of a dead worker the same way whatever its kind: a collection add, an index
build, a field rename, a near-duplicate search, an export and a vector index build whose task result is gone (pruned, or the worker died after it was
marked finished) are queued again with the arguments they were queued with, and complete; a task whose result is
still queued is left alone."""

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from metadata_site.collections import services as collection_services
from metadata_site.collections.models import CollectionItem, CollectionTask
from metadata_site.explorer.builds import index_build_queue
from metadata_site.explorer.indexes import missing_field_indexes
from metadata_site.explorer.models import IndexBuild
from metadata_site.imports.exports import export_task_create
from metadata_site.imports.models import ImportTask
from metadata_site.imports.recovery import recover_tasks
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media.lookalike import duplicate_scan_queue
from metadata_site.media.models import DuplicateScan
from metadata_site.schemas.models import FieldRename
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import schema_rename_field

from ..factories import make_collection, make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_backend(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.TASK_LOCK_DIR = tmp_path / "locks"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def items(workspace):
    make_schema(workspace, [{"name": "temp", "type": "float"}])
    folder = make_folder(workspace, "f")
    return [make_item(folder, f"i{n}.jpg", metadata={"temp": float(n)}) for n in range(5)]


def _collection_add(workspace, owner, items, monkeypatch):
    monkeypatch.setattr(collection_services, "INLINE_LIMIT", 2)
    collection = make_collection(workspace, "picked")
    picked = [i.pk for i in items[:4]]
    collection_services.collection_add_items(collection=collection, item_ids=picked, user=owner)
    return CollectionTask.objects.get(), lambda: sorted(
        CollectionItem.objects.filter(collection=collection).values_list("item_id", flat=True)) == picked


def _field_rename(workspace, owner, items, monkeypatch):
    schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    return FieldRename.objects.get(), lambda: all(
        set(i.client_metadata) == {"temperature"} for i in type(items[0]).objects.filter(workspace=workspace))


def _duplicate_scan(workspace, owner, items, monkeypatch):
    duplicate_scan_queue(workspace=workspace, user=owner)
    return DuplicateScan.objects.get(), lambda: True


def _export(workspace, owner, items, monkeypatch):
    export_task_create(workspace=workspace, user=owner, params={}, fmt="jsonl")
    return ImportTask.objects.get(kind="export"), lambda: ImportTask.objects.get(kind="export").done == 5


def _index_build(workspace, owner, items, monkeypatch):
    index_build_queue(workspace_id=workspace.pk, user=owner)
    return IndexBuild.objects.get(), lambda: not missing_field_indexes(
        workspace_id=workspace.pk, schema=schema_current(workspace=workspace))


def _vector_index_build(workspace, owner, items, monkeypatch):
    from django.conf import settings

    from metadata_site.items.services import MODE_MERGE, item_metadata_write
    from metadata_site.media.models import VectorIndex
    from metadata_site.media.vectors import vector_index_queue

    monkeypatch.setattr(settings, "VECTOR_INDEX_DIR", settings.MEDIA_ROOT / "vectors", raising=False)
    make_schema(workspace, [{"name": "temp", "type": "float"},
                            {"name": "clip", "type": "embedding", "dimension": 3, "distance": "cosine"}])
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={i.pk: {"clip": [1.0, float(n), 0.5]} for n, i in enumerate(items)})
    DBTaskResult.objects.all().delete()  # a build the write may have queued: this test queues its own
    VectorIndex.objects.all().delete()
    vector_index_queue(workspace_id=workspace.pk, field="clip")
    return VectorIndex.objects.get(), lambda: VectorIndex.objects.get().size == 5


KINDS = {"collection add": _collection_add, "index build": _index_build, "field rename": _field_rename,
         "near-duplicate search": _duplicate_scan, "export": _export, "vector index build": _vector_index_build}


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_whose_result_is_gone_is_queued_again_with_its_arguments_and_completes(
        kind, db_backend, workspace, owner, items, monkeypatch):
    row, done = KINDS[kind](workspace, owner, items, monkeypatch)
    assert row.status in (TaskStatus.QUEUED, TaskStatus.RUNNING) and row.task_result_id
    DBTaskResult.objects.filter(pk=row.task_result_id).delete()  # pruned, or its worker died after finishing it

    recovered = recover_tasks(grace_seconds=0)
    assert [r.task_path for r in recovered] == [row._meta.label]
    row.refresh_from_db()
    assert DBTaskResult.objects.get(pk=row.task_result_id).status == TaskResultStatus.READY
    assert recover_tasks(grace_seconds=0) == []  # queued now: left alone

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED and row.percent == 100
    assert done()


def test_a_collection_add_claimed_by_a_dead_worker_is_queued_again_once(db_backend, workspace, owner, items,
                                                                        monkeypatch):
    row, done = _collection_add(workspace, owner, items, monkeypatch)
    DBTaskResult.objects.get(pk=row.task_result_id).claim("worker-that-died")

    recovered = recover_tasks(grace_seconds=0)
    # The task result itself is queued again (READY); its row is not queued a second time.
    assert [r.task_id for r in recovered] == [row.task_result_id]
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED and done()


def test_finished_tasks_are_not_recovered(db_backend, workspace, owner, items, monkeypatch):
    row, _ = _field_rename(workspace, owner, items, monkeypatch)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    DBTaskResult.objects.all().delete()
    assert recover_tasks(grace_seconds=0) == []
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED


def test_a_row_whose_arguments_cannot_queue_it_is_marked_failed_and_the_others_are_still_recovered(
        db_backend, workspace, owner, items, monkeypatch):
    from metadata_site.media.models import MediaBatch

    broken = MediaBatch.objects.create(workspace=workspace, total=3)  # queued, but without its item ids
    row, done = _field_rename(workspace, owner, items, monkeypatch)
    DBTaskResult.objects.filter(pk=row.task_result_id).delete()

    recovered = recover_tasks(grace_seconds=0)
    assert [r.task_path for r in recovered] == [row._meta.label]
    broken.refresh_from_db()
    assert broken.status == TaskStatus.FAILED and "could not be queued again" in broken.failure_reason
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED and done()

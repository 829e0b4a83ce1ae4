"""The migrations to the one background-task shape keep the data: an export's count moves from `inserted_rows` to
`done` (an import's counters stay), `total_rows` becomes `total`, a collection task's and a rename's `error`
becomes `failure_reason`, and a near-duplicate scan's lower-case state becomes a TaskStatus. Reversible."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("imports", "0005_importtask_media_kind"), ("collections", "0004_membership_indexes"),
          ("schemas", "0002_field_rename"), ("media", "0002_duplicate_scan")]
AFTER = [("imports", "0007_export_count_in_done"), ("collections", "0005_background_task_shape"),
         ("schemas", "0003_background_task_shape"), ("media", "0004_duplicate_scan_statuses")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_task_rows_keep_their_data_in_the_new_shape_and_back():
    try:
        old = _migrate(BEFORE)
        ws = old.get_model("workspaces", "Workspace").objects.create(name="Old", slug="old")
        ImportTask = old.get_model("imports", "ImportTask")
        export = ImportTask.objects.create(workspace=ws, kind="export", status="COMPLETED", inserted_rows=7,
                                           total_rows=7)
        rows = ImportTask.objects.create(workspace=ws, kind="metadata_rows", status="COMPLETED", inserted_rows=3,
                                         updated_rows=2, total_rows=6)
        add = old.get_model("collections", "CollectionTask").objects.create(
            workspace=ws, kind="add_items", status="FAILED", total=9, done=4, error="the disk is full")
        scans = old.get_model("media", "DuplicateScan")
        scan = scans.objects.create(workspace=ws, state="done", progress=100, groups=2, items=5)
        updated_at = scans.objects.get(pk=scan.pk).updated_at

        new = _migrate(AFTER)
        ImportTask = new.get_model("imports", "ImportTask")
        export = ImportTask.objects.get(pk=export.pk)
        assert (export.done, export.total, export.inserted_rows) == (7, 7, 0)
        rows = ImportTask.objects.get(pk=rows.pk)
        assert (rows.done, rows.total, rows.inserted_rows, rows.updated_rows) == (0, 6, 3, 2)
        add = new.get_model("collections", "CollectionTask").objects.get(pk=add.pk)
        assert (add.status, add.done, add.total, add.failure_reason) == ("FAILED", 4, 9, "the disk is full")
        scan = new.get_model("media", "DuplicateScan").objects.get(pk=scan.pk)
        assert (scan.status, scan.done, scan.total, scan.groups) == ("COMPLETED", 100, 100, 2)
        assert scan.created_at == updated_at == scan.finished_at and scan.created_at <= timezone.now()

        old = _migrate(BEFORE)
        export = old.get_model("imports", "ImportTask").objects.get(pk=export.pk)
        assert (export.inserted_rows, export.total_rows) == (7, 7)
        assert old.get_model("media", "DuplicateScan").objects.get(pk=scan.pk).state == "done"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

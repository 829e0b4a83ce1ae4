"""The Tasks page in Chromium: a member opens it from the workspace navigation, sees every kind of task with its
progress, watches a running one finish without reloading (the list polls itself while a task runs) and follows a
task to its own page, which shows the same progress fragment."""

import pytest

from metadata_site.collections.models import CollectionTask, CollectionTaskKind
from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.items.models import ChangeSet
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media.models import DuplicateScan
from metadata_site.schemas.models import FieldRename
from metadata_site.workspaces.models import Role
from tests.factories import make_collection, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_follows_every_kind_of_task_on_the_tasks_page(live_server, browser_login):
    user = make_user("vera")
    ws = make_workspace("acme", members={user: Role.VIEWER})
    rename = FieldRename.objects.create(
        workspace=ws, old_name="temp", new_name="temperature", total=10, done=4,
        change_set=ChangeSet.objects.create(workspace=ws, operation="rename"),
    )
    CollectionTask.objects.create(workspace=ws, kind=CollectionTaskKind.ADD_ITEMS, total=3, done=3, added=3,
                                  collection=make_collection(ws, "Sunny picks"), status=TaskStatus.COMPLETED)
    ImportTask.objects.create(workspace=ws, kind=ImportKind.EXPORT, file_name="export-all.jsonl", total=7, done=7,
                              status=TaskStatus.COMPLETED)
    DuplicateScan.objects.create(workspace=ws, status=TaskStatus.COMPLETED, done=100, groups=1, items=2)

    page = browser_login(user)
    page.goto(f"{live_server.url}/w/acme/")
    page.click("nav.ws-nav >> text=Tasks")
    page.wait_for_selector("#tasks")
    kinds = page.locator("#tasks tr[data-kind]").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert sorted(kinds) == sorted(["Field rename", "Add items to a collection", "Export", "Near-duplicate search"])
    rename_row = page.locator('#tasks tr[data-kind="Field rename"]')
    assert "4 of 10 items moved" in rename_row.inner_text()
    assert rename_row.locator(".progress").get_attribute("aria-valuenow") == "40"

    # The rename finishes: the list, polling while a task runs, shows it without a reload.
    FieldRename.objects.filter(pk=rename.pk).update(done=10, status=TaskStatus.COMPLETED)
    page.wait_for_selector('#tasks tr[data-kind="Field rename"] .task-progress[data-status=COMPLETED]')
    assert "10 of 10 items moved" in page.locator('#tasks tr[data-kind="Field rename"]').inner_text()

    page.click('#tasks tr[data-kind="Field rename"] a')
    page.wait_for_selector("#progress #task-status-label")
    assert page.inner_text("#task-status-label") == "Completed"
    assert page.get_attribute("#task-progress", "aria-valuenow") == "100"

"""The Tasks page (/w/<slug>/tasks/): every kind of background task of the workspace with its progress, newest
first, paged; members see it, strangers get 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metadata_site.collections.models import CollectionTask, CollectionTaskKind
from metadata_site.explorer.models import IndexBuild
from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.items.models import ChangeSet
from metadata_site.lib.taskmodel import TaskStatus, task_models
from metadata_site.media.models import DuplicateScan
from metadata_site.schemas.models import FieldRename
from metadata_site.workspaces.selectors import TASKS_PAGE_SIZE
from tests.factories import make_collection, make_workspace


def _url(slug="acme", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workspaces:tasks", args=[slug]) + (f"?{query}" if query else "")


def _at(row, minutes_ago: int):
    type(row).objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return row


@pytest.fixture
def one_of_each(workspace, owner):
    """A task of every kind, the newest first: a rename, a collection add, an export, an import, a near-duplicate
    search, an index build."""
    collection = make_collection(workspace, "Sunny picks")
    change_set = ChangeSet.objects.create(workspace=workspace, operation="rename")
    return [
        _at(FieldRename.objects.create(workspace=workspace, old_name="temp", new_name="temperature", total=10,
                                       done=4, change_set=change_set, created_by=owner), 1),
        _at(CollectionTask.objects.create(workspace=workspace, kind=CollectionTaskKind.ADD_ITEMS,
                                          collection=collection, status=TaskStatus.FAILED, total=30, done=10,
                                          failure_reason="the database went away"), 2),
        _at(ImportTask.objects.create(workspace=workspace, kind=ImportKind.EXPORT, file_name="export-all.jsonl",
                                      status=TaskStatus.COMPLETED, total=7, done=7), 3),
        _at(ImportTask.objects.create(workspace=workspace, kind=ImportKind.METADATA_ROWS, file_name="rows.csv",
                                      status=TaskStatus.RUNNING, progress=42.0), 4),
        _at(DuplicateScan.objects.create(workspace=workspace, status=TaskStatus.COMPLETED, done=100, groups=2,
                                         items=5), 5),
        _at(IndexBuild.objects.create(workspace=workspace, status=TaskStatus.QUEUED), 6),
    ]


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_members_see_the_tasks_page_and_strangers_get_404(who, status, request, login, workspace, one_of_each):
    response = login(request.getfixturevalue(who)).get(_url())
    assert response.status_code == status
    if status == 200:
        assert b"rows.csv" in response.content


def test_anonymous_users_are_sent_to_log_in(workspace, client):
    response = client.get(_url())
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_it_lists_every_kind_newest_first_with_its_progress(login, owner, one_of_each):
    html = login(owner).get(_url()).content.decode()
    kinds = ["Field rename", "Add items to a collection", "Export", "Metadata rows", "Near-duplicate search",
             "Index build"]
    positions = [html.index(f'data-kind="{kind}"') for kind in kinds]
    assert positions == sorted(positions)
    assert "temp → temperature" in html and "4 of 10 items moved" in html
    assert "Sunny picks" in html and "the database went away" in html and "10 of 30 items processed" in html
    assert "7 of 7 items exported" in html and 'aria-valuenow="100"' in html
    assert 'aria-valuenow="42"' in html  # an import's bar: the share of its file read
    for row in one_of_each:
        assert f'href="{row.get_absolute_url()}"' in html


def test_it_shows_no_task_of_another_workspace(login, owner, workspace, one_of_each):
    elsewhere = make_workspace("elsewhere", members={owner: "admin"})
    ImportTask.objects.create(workspace=elsewhere, kind=ImportKind.METADATA_ROWS, file_name="secret.csv")
    html = login(owner).get(_url()).content.decode()
    assert "secret.csv" not in html and html.count("data-kind=") == len(one_of_each)


def test_it_pages_newest_first_across_kinds(login, owner, workspace, one_of_each):
    for n in range(TASKS_PAGE_SIZE - 3):
        _at(ImportTask.objects.create(workspace=workspace, kind=ImportKind.METADATA_ROWS, file_name=f"old-{n}.csv"),
            100 + n)
    client = login(owner)
    first = client.get(_url()).content.decode()
    assert first.count("data-kind=") == TASKS_PAGE_SIZE and 'id="tasks-older"' in first
    assert "Field rename" in first and f"old-{TASKS_PAGE_SIZE - 7}.csv" in first
    assert f"old-{TASKS_PAGE_SIZE - 6}.csv" not in first
    second = client.get(_url(page=2)).content.decode()
    assert second.count("data-kind=") == 3 and 'id="tasks-newer"' in second and 'id="tasks-older"' not in second
    assert f"old-{TASKS_PAGE_SIZE - 6}.csv" in second and "Field rename" not in second
    assert "Page 2 of 2 (28 tasks)" in second


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999999"])
def test_a_bad_page_number_is_a_400_that_names_the_parameter(login, owner, one_of_each, page):
    response = login(owner).get(_url(page=page))
    assert response.status_code == 400 and response.content.decode().startswith("page: ")


def test_htmx_gets_the_list_alone_and_it_polls_while_a_task_runs(login, owner, one_of_each):
    fragment = login(owner).get(_url(), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'id="tasks"' in fragment and 'hx-trigger="every 2s"' in fragment
    for row in one_of_each:
        type(row).objects.filter(pk=row.pk).update(status=TaskStatus.COMPLETED)
    assert 'hx-trigger' not in login(owner).get(_url(), headers={"HX-Request": "true"}).content.decode()


def test_the_query_count_does_not_grow_with_the_tasks(login, owner, workspace, one_of_each,
                                                      django_assert_num_queries):
    client = login(owner)
    # session + user + access, then a count and a page of rows per kind.
    with django_assert_num_queries(3 + 2 * len(task_models())):
        client.get(_url())
    for n in range(10):
        ImportTask.objects.create(workspace=workspace, kind=ImportKind.METADATA_ROWS, file_name=f"more-{n}.csv")
    with django_assert_num_queries(3 + 2 * len(task_models())):
        client.get(_url())


def test_the_workspace_navigation_and_home_link_to_it(login, viewer, workspace, one_of_each):
    html = login(viewer).get(reverse("workspaces:home", args=["acme"])).content.decode()
    assert f'href="{_url()}"' in html and "temp → temperature" in html

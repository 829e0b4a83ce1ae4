"""Every paged list of the API (`@paginate(CursorPage)`): the first page, the next page through `next`, and a bad
cursor as a 400 that names the cursor. One case per endpoint family, three rows paged two at a time."""

import pytest

from metadata_site.api.pagination import INVALID_CURSOR
from metadata_site.collections.models import Collection
from metadata_site.explorer.query import FILTER_BAD_CURSOR
from metadata_site.imports.models import ImportKind
from metadata_site.imports.services import import_task_create
from metadata_site.items.services import item_metadata_write
from metadata_site.projects.models import Folder
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema, make_workspace

from .conftest import assert_error_shape

pytestmark = pytest.mark.django_db


def _workspaces(workspace, owner):
    for slug in ("beta", "gamma"):
        make_workspace(slug, members={owner: "viewer"})
    return "/api/workspaces", lambda row: row["slug"]


def _folders(workspace, owner):
    for name in ("a", "b", "c"):
        make_folder(workspace, name)
    return "/api/w/acme/folders", lambda row: row["id"]


def _projects(workspace, owner):
    for name in ("p0", "p1", "p2"):
        make_project(workspace, name)
    return "/api/w/acme/projects", lambda row: row["name"]


def _datasets(workspace, owner):
    project = make_project(workspace, "Roads")
    for name in ("d0", "d1", "d2"):
        make_dataset(project, name)
    return "/api/w/acme/datasets", lambda row: row["name"]


def _collections(workspace, owner):
    for title in ("c0", "c1", "c2"):
        Collection.objects.create(workspace=workspace, title=title)
    return "/api/w/acme/collections", lambda row: row["title"]


def _change_sets(workspace, owner):
    item = make_item(make_folder(workspace))
    for n in range(3):
        item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"n": n}}, mode="merge", source="api")
    return "/api/w/acme/change_sets", lambda row: row["id"]


def _imports(workspace, owner):
    for _ in range(3):
        import_task_create(workspace=workspace, user=owner, kind=ImportKind.METADATA_ROWS)
    return "/api/w/acme/imports", lambda row: row["id"]


def _schema_versions(workspace, owner):
    for n in range(3):
        make_schema(workspace, [{"name": f"f{n}", "type": "string"}])
    return "/api/w/acme/schema/versions", lambda row: row["version"]


def _items(workspace, owner):
    folder = make_folder(workspace)
    for title in ("i0", "i1", "i2"):
        make_item(folder, title)
    return "/api/w/acme/items", lambda row: row["title"]


FAMILIES = [_workspaces, _folders, _projects, _datasets, _collections, _change_sets, _imports, _schema_versions,
            _items]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__.strip("_"))
def test_the_first_page_links_to_the_next_and_the_next_page_ends_the_list(api_as, owner, workspace, family):
    url, key = family(workspace, owner)
    client = api_as(owner)
    first = client.get(url, {"limit": 2})
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].startswith(f"http://testserver{url}?")
    assert "limit=2" in body["next"]
    second = client.get(body["next"]).json()
    assert second["count"] == 3
    assert len(second["results"]) == 1
    assert second["next"] is None
    keys = [key(r) for r in body["results"] + second["results"]]
    assert len(set(keys)) == 3


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__.strip("_"))
def test_without_a_limit_one_page_holds_the_whole_short_list(api_as, owner, workspace, family):
    url, _ = family(workspace, owner)
    body = api_as(owner).get(url).json()
    assert len(body["results"]) == body["count"] == 3
    assert body["next"] is None


@pytest.mark.parametrize("family", [f for f in FAMILIES if f is not _items], ids=lambda f: f.__name__.strip("_"))
def test_a_bad_cursor_is_a_400_that_names_the_cursor(api_as, owner, workspace, family):
    url, _ = family(workspace, owner)
    body = assert_error_shape(api_as(owner).get(url, {"cursor": "!!!"}), 400)
    assert body["detail"] == INVALID_CURSOR
    assert body["errors"] == [{"loc": ["query", "cursor"], "msg": INVALID_CURSOR}]


def test_a_bad_cursor_of_the_items_is_a_400_from_the_explorer(api_as, owner, workspace):
    _items(workspace, owner)
    body = assert_error_shape(api_as(owner).get("/api/w/acme/items", {"cursor": "zzz"}), 400)
    assert body["detail"] == FILTER_BAD_CURSOR.format(raw="zzz")


@pytest.mark.parametrize("limit", ["0", "1001", "two"])
def test_a_limit_out_of_range_is_a_422_at_the_limit(api_as, owner, workspace, limit):
    body = assert_error_shape(api_as(owner).get("/api/w/acme/folders", {"limit": limit}), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"]


def test_a_stranger_gets_a_404_not_a_page(api_as, stranger, workspace):
    make_folder(workspace)
    assert_error_shape(api_as(stranger).get("/api/w/acme/folders", {"limit": 1}), 404)


def test_the_folder_list_pages_a_thousand_by_default(api_as, owner, workspace):
    Folder.objects.bulk_create([Folder(workspace=workspace, name=f"f{n}") for n in range(1001)])
    body = api_as(owner).get("/api/w/acme/folders").json()
    assert len(body["results"]) == 1000
    assert body["next"] is not None

"""Ids of another workspace are 404 everywhere: in acme's URLs (generated from the permission matrix), inside
bulk bodies, in filter values and scopes, in collection membership adds and in bulk edit forms. The acme
admin sends them; nothing of the other workspace is shown or changed."""

import json

import pytest

from metadata_site.collections.models import CollectionItem
from metadata_site.imports.services import ImportTaskError
from metadata_site.items.models import Item

from ..imports.helpers import run_import
from . import calls, matrix, urlwalk

pytestmark = pytest.mark.django_db

# Parameters that do not name an object of a workspace.
_NOT_OBJECTS = {"slug", "version", "kind", "rest", "name"}  # name: a field's name, the same in every workspace


def _object_routes():
    for route, entry in sorted(matrix.MATRIX.items()):
        names = set(urlwalk.parameters(route)) - _NOT_OBJECTS
        if names and entry.methods and set(entry.methods.values()) != {matrix.PUBLIC}:
            yield route


@pytest.mark.parametrize("route", list(_object_routes()))
def test_an_id_from_another_workspace_is_404_in_every_url(client, world, route):
    entry = matrix.MATRIX[route]
    path = calls.path_for(world.foreign, route, entry)
    calls.as_role(client, world, "admin", entry)
    failures = []
    for method in entry.methods:
        response = calls.rolled_back(lambda: calls.call(client, world.foreign, "admin", method, path, entry))  # noqa: B023
        if response.status_code != 404:
            failures.append(f"{method} {path} as the acme admin: {response.status_code}, expected 404")
    assert not failures, "\n".join(failures)


def _metadata(item) -> dict:
    return Item.objects.get(pk=item.pk).client_metadata


def _api(client, world, method, path, body):
    return client.generic(
        method, path, json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )  # fmt: skip


def test_api_bulk_metadata_does_not_touch_a_foreign_item(client, world):
    foreign = world.foreign.item
    before = _metadata(foreign)
    body = {"updates": {str(foreign.uid): {"temperature": 99.0}, str(world.item.uid): {"temperature": 1.0}}}
    response = calls.rolled_back(lambda: _api(client, world, "POST", "/api/w/acme/items/metadata", body))
    assert response.status_code in (200, 400, 404, 422)
    assert str(foreign.uid) in response.content.decode() or response.status_code == 404
    assert _metadata(foreign) == before


def test_api_item_endpoints_do_not_find_a_foreign_item(client, world):
    uid = world.foreign.item.uid
    for method, path, body in [
        ("GET", f"/api/w/acme/items/{uid}", None),
        ("PATCH", f"/api/w/acme/items/{uid}/metadata", {"temperature": 5.0}),
        ("PUT", f"/api/w/acme/items/{uid}/metadata", {"temperature": 5.0}),
    ]:
        response = calls.rolled_back(lambda: _api(client, world, method, path, body))  # noqa: B023
        assert response.status_code == 404, (method, path, response.status_code)


def test_api_search_with_a_foreign_scope_finds_nothing(client, world):
    for scope in (f"dataset:{world.foreign.dataset.pk}", f"folder:{world.foreign.folder.pk}",
                  f"collection:{world.foreign.collection.pk}"):  # fmt: skip
        response = _api(client, world, "GET", f"/api/w/acme/items?scope={scope}", None)
        assert response.status_code in (400, 404), (scope, response.status_code)
        assert str(world.foreign.item.uid) not in response.content.decode()


@pytest.mark.parametrize("kind", ["dataset", "folder", "collection"])
def test_explorer_scope_of_another_workspace_is_like_an_id_that_does_not_exist(client, world, kind):
    """The answer for a foreign id is the answer for a missing id (same status, same message): nothing tells
    the caller that the object exists elsewhere."""
    client.force_login(world.users["admin"])
    foreign = getattr(world.foreign, kind)
    for url in ("/w/acme/explore/", "/w/acme/explore/count/", "/w/acme/explore/facets/"):
        response = client.get(url, {"scope": f"{kind}:{foreign.pk}"})
        missing = client.get(url, {"scope": f"{kind}:987654321"})
        assert response.status_code in (400, 404), (url, kind, response.status_code)
        assert response.status_code == missing.status_code
        assert _messages(response, foreign.pk) == _messages(missing, 987654321)
        assert str(world.foreign.item.uid) not in response.content.decode()


def _messages(response, pk) -> str:
    lines = response.content.decode().splitlines()
    return "\n".join(line.replace(str(pk), "<id>").strip() for line in lines if "scope" in line and str(pk) in line)


def test_explorer_collection_filter_of_another_workspace_shows_nothing(client, world):
    client.force_login(world.users["admin"])
    response = client.get("/w/acme/explore/", {"f": f"collection:in:{world.foreign.collection.pk}"})
    assert response.status_code in (200, 400, 404)
    assert str(world.foreign.item.uid) not in response.content.decode()


def test_export_with_a_foreign_scope_exports_nothing(client, world):
    client.force_login(world.users["admin"])
    response = client.get("/w/acme/export/", {"scope": f"dataset:{world.foreign.dataset.pk}"})
    assert response.status_code in (400, 404)


def test_bulk_edit_ignores_foreign_items(client, world):
    client.force_login(world.users["admin"])
    foreign = world.foreign.item
    before = _metadata(foreign)
    calls.rolled_back(lambda: client.post("/w/acme/items/bulk-edit/", {
        "item": [str(foreign.uid)], "field": "temperature", "value": "42", "confirm": "1", "selection": "ids",
    }))  # fmt: skip
    assert _metadata(foreign) == before


def test_collection_add_refuses_foreign_items(client, world):
    client.force_login(world.users["admin"])
    foreign = world.foreign.item

    def add():
        response = client.post("/w/acme/collections/add/", {
            "selection": "ids", "item": [str(foreign.uid)], "collection": world.collection.pk, "confirm": "1",
        })  # fmt: skip
        added = CollectionItem.objects.filter(item=foreign, collection=world.collection).exists()
        return response, added

    response, added = calls.rolled_back(add)
    assert not added
    assert response.status_code in (200, 302, 400, 404)


def test_selection_with_foreign_uids_selects_nothing(client, world):
    client.force_login(world.users["admin"])
    response = client.post("/w/acme/explore/selection/", {"selection": "ids", "item": [str(world.foreign.item.uid)]})
    assert response.status_code in (200, 400, 404)
    assert response.status_code != 200 or response.context["total"] == 0


def test_an_import_by_media_id_does_not_touch_a_foreign_item(world):
    foreign = world.foreign.item
    before = _metadata(foreign)
    rows = [{"media_id": str(foreign.uid), "metadata": {"temperature": 77.0}},
            {"media_id": str(world.item.uid), "metadata": {"temperature": 7.0}}]  # fmt: skip
    task = run_import(world.workspace, world.users["admin"], rows, "rows.json")
    assert _metadata(foreign) == before
    assert task.error_count == 1
    assert _metadata(world.item)["temperature"] == 7.0


def test_an_import_by_title_looks_only_in_its_own_workspace(world):
    foreign = world.foreign.item
    before = _metadata(foreign)
    for target in ({"folder": world.foreign.folder.pk}, {"dataset": world.foreign.dataset.pk}):
        with pytest.raises(ImportTaskError):
            run_import(world.workspace, world.users["admin"], [{"title": foreign.title, "metadata": {}}],
                       "rows.json", target=target)  # fmt: skip
    task = run_import(world.workspace, world.users["admin"], [{"title": foreign.title, "metadata": {"temperature": 1.0}}],
                      "rows.json", target={"folder": world.folder.pk})  # fmt: skip
    assert task.error_count == 1
    assert _metadata(foreign) == before


def test_a_field_values_import_does_not_touch_a_foreign_item(world):
    foreign = world.foreign.item
    before = _metadata(foreign)
    content = f"media_id,value\n{foreign.uid},55.5\n"
    run_import(world.workspace, world.users["admin"], content, "values.csv", kind="field_values",
               target={"field": "temperature"})  # fmt: skip
    assert _metadata(foreign) == before

import pytest

from metadata_site.items.services import item_metadata_write
from tests.factories import make_folder, make_item, make_schema

from .conftest import assert_error_shape


@pytest.fixture
def item(workspace):
    make_schema(workspace, [{"name": "t", "type": "float"}])
    return make_item(make_folder(workspace), metadata={"t": 1.0})


def _change(workspace, editor, item) -> int:
    result = item_metadata_write(workspace=workspace, user=editor, updates={item.pk: {"t": 2.0}}, mode="merge")
    return result.change_set.pk


@pytest.mark.django_db
def test_it_lists_change_sets_and_undoes_one(api_as, editor, viewer, workspace, item):
    change_set = _change(workspace, editor, item)
    listed = api_as(viewer).get("/api/w/acme/change_sets").json()
    assert listed["results"][0]["id"] == change_set
    assert listed["results"][0]["user"] == "editor"
    client = api_as(editor)
    body = client.post(f"/api/w/acme/change_sets/{change_set}/undo").json()
    assert body["restored"] == 1 and body["conflicts"] == [] and body["undone"] is True
    item.refresh_from_db()
    assert item.client_metadata == {"t": 1.0}
    assert_error_shape(client.post(f"/api/w/acme/change_sets/{change_set}/undo"), 409)


@pytest.mark.django_db
def test_viewers_cannot_undo_and_strangers_see_nothing(api_as, editor, viewer, stranger, workspace, item):
    change_set = _change(workspace, editor, item)
    assert_error_shape(api_as(viewer).post(f"/api/w/acme/change_sets/{change_set}/undo"), 403)
    assert_error_shape(api_as(stranger).get("/api/w/acme/change_sets"), 404)
    assert_error_shape(api_as(stranger).post(f"/api/w/elsewhere/change_sets/{change_set}/undo"), 404)

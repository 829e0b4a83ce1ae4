"""The permission matrix: owner / viewer / stranger / no token / revoked token, for every resource."""

import pytest

from metadata_site.accounts.services import api_token_create, api_token_revoke
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

from .conftest import ApiClient, assert_error_shape


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def objects(workspace, owner):
    make_schema(workspace, [{"name": "t", "type": "float"}])
    folder = make_folder(workspace, "raw")
    item = make_item(folder, metadata={"t": 1.0})
    project = make_project(workspace, "P")
    dataset = make_dataset(project, "D", items=[item])
    return {"folder": folder.pk, "item": item.uid, "project": project.pk, "dataset": dataset.pk}


def _endpoints(o: dict) -> list[tuple[str, str, object, bool]]:
    """(method, path, body, is_write)."""
    w = "/api/w/acme"
    return [
        ("get", f"{w}", None, False),
        ("get", f"{w}/folders", None, False),
        ("get", f"{w}/projects", None, False),
        ("get", f"{w}/projects/{o['project']}", None, False),
        ("get", f"{w}/projects/{o['project']}/info", None, False),
        ("get", f"{w}/projects/{o['project']}/custom_data", None, False),
        ("put", f"{w}/projects/{o['project']}/custom_data", {"a": 1}, True),
        ("patch", f"{w}/projects/{o['project']}/custom_data", {"b": 1}, True),
        ("put", f"{w}/projects/{o['project']}/readme", {"readme": "x"}, True),
        ("get", f"{w}/datasets", None, False),
        ("get", f"{w}/datasets/{o['dataset']}/custom_data", None, False),
        ("put", f"{w}/datasets/{o['dataset']}/custom_data", {"a": 1}, True),
        ("get", f"{w}/items", None, False),
        ("post", f"{w}/items/search", {"all": []}, False),
        ("get", f"{w}/items/{o['item']}", None, False),
        ("get", f"{w}/items/{o['item']}/metadata", None, False),
        ("put", f"{w}/items/{o['item']}/metadata", {"t": 2.0}, True),
        ("patch", f"{w}/items/{o['item']}/metadata", {"t": 3.0}, True),
        ("post", f"{w}/items/metadata", {"updates": {str(o["item"]): {"t": 4.0}}}, True),
        ("get", f"{w}/schema", None, False),
        ("get", f"{w}/schema/versions", None, False),
        ("post", f"{w}/schema/fields", {"name": "n", "type": "string"}, True),
        ("put", f"{w}/schema", {"fields": [{"name": "t", "type": "float"}]}, True),
        ("get", f"{w}/change_sets", None, False),
        ("get", f"{w}/imports", None, False),
        ("post", f"{w}/imports", {"kind": "metadata_rows", "target": {"folder": o["folder"]}}, True),
        ("get", f"/api/v1/datasets/{o['dataset']}/custom_metadata/schema", None, False),
        ("get", f"/api/v1/datasets/{o['dataset']}/image/{o['item']}/custom_metadata", None, False),
        ("post", f"{w}/exports", {"format": "csv"}, False),
        ("get", f"{w}/collections", None, False),
        ("post", f"{w}/collections", {"title": "C", "items": [str(o["item"])]}, True),
        ("post", f"{w}/datasets/from_collections", {"name": "N", "project": o["project"], "items": [str(o["item"])]},
         True),
        ("post", f"/api/v1/datasets/{o['dataset']}/custom_metadata/tasks", {"field_name": "z", "field_type": "float"},
         True),
    ]


def _call(client: ApiClient, method: str, path: str, body):
    return getattr(client, method)(path, body)


@pytest.mark.django_db
def test_owner_can_read_and_write_everything(owner, objects, token_for):
    client = ApiClient(token_for(owner))
    for method, path, body, _write in _endpoints(objects):
        resp = _call(client, method, path, body)
        assert 200 <= resp.status_code < 300, (method, path, resp.status_code, resp.content)


@pytest.mark.django_db
def test_viewer_reads_but_every_write_is_403(viewer, objects, token_for):
    client = ApiClient(token_for(viewer))
    for method, path, body, write in _endpoints(objects):
        resp = _call(client, method, path, body)
        if write:
            assert_error_shape(resp, 403)
        else:
            assert 200 <= resp.status_code < 300, (method, path, resp.content)


@pytest.mark.django_db
def test_stranger_gets_404_everywhere(stranger, objects, token_for):
    client = ApiClient(token_for(stranger))
    for method, path, body, _write in _endpoints(objects):
        assert_error_shape(_call(client, method, path, body), 404)


@pytest.mark.django_db
def test_no_token_gets_401_everywhere(objects):
    client = ApiClient(None)
    for method, path, body, _write in _endpoints(objects):
        assert_error_shape(_call(client, method, path, body), 401)


@pytest.mark.django_db
def test_a_revoked_token_gets_401_everywhere(owner, objects):
    token, raw = api_token_create(user=owner, name="old")
    api_token_revoke(user=owner, token_id=token.pk)
    client = ApiClient(raw)
    for method, path, body, _write in _endpoints(objects):
        assert_error_shape(_call(client, method, path, body), 401)


@pytest.mark.django_db
def test_access_is_checked_before_the_body_is_validated(viewer, stranger, objects, token_for):
    """A bad body must not tell a stranger anything, nor let a viewer's write get as far as validation."""
    bad = {"not": "what the endpoint takes"}
    writes = [("post", "/api/w/acme/schema/fields"), ("put", "/api/w/acme/schema"),
              ("put", f"/api/w/acme/projects/{objects['project']}/readme"), ("post", "/api/w/acme/items/metadata"),
              ("post", f"/api/v1/datasets/{objects['dataset']}/custom_metadata/tasks")]
    for user, status in ((stranger, 404), (viewer, 403)):
        client = ApiClient(token_for(user))
        for method, path in writes:
            assert_error_shape(_call(client, method, path, bad), status)
    assert_error_shape(_call(ApiClient(token_for(stranger)), "post", "/api/w/acme/items/search", {"all": 3}), 404)

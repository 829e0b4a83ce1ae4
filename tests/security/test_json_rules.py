"""Attack class: JSON that the custom-data rules refuse, sent where another parser used to take it (duplicate keys,
900-deep objects, 1.8 MB of metadata, NaN, unpaired surrogates). One set of rules for every JSON a user writes
(`lib/strictjson.py`): the item metadata API (raw and schema-typed bodies), the Supervisely and Encord layers."""

import json

import pytest

from metadata_site.accounts.services import api_token_create
from metadata_site.items.models import Item
from metadata_site.lib import strictjson
from tests.factories import make_folder, make_item, make_project, make_schema

ORIGINAL = {"weather": "Sunny"}


@pytest.fixture
def item(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    return make_item(make_folder(workspace, "raw"), "a.jpg", metadata=dict(ORIGINAL))


@pytest.fixture
def bearer(editor):
    return {"Authorization": f"Bearer {api_token_create(user=editor, name='rules')[1]}"}


def _send(client, method, path, raw, headers):
    return getattr(client, method)(path, raw, content_type="application/json", headers=headers)


def _deep(depth: int) -> str:
    return '{"weather": "Rain", "x": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


BAD_BODIES = {
    "duplicate key": ('{"weather": "Rain", "weather": "Sunny"}', 'Duplicate key "weather" at line 1, column'),
    "900-deep object": (_deep(900), "Nesting is deeper than 64 levels"),
    "NaN": ('{"weather": "Rain", "x": NaN}', "is not allowed: JSON numbers must be finite"),
    "unpaired surrogate": ('{"weather": "Rain", "x": "\\ud800"}', "unpaired surrogate"),
    "NUL character": ('{"weather": "Rain", "x": "a\\u0000b"}', "NUL character"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_item_metadata_api_refuses_what_custom_data_refuses(client, item, bearer, case, method):
    raw, message = BAD_BODIES[case]
    response = _send(client, method, f"/api/w/acme/items/{item.uid}/metadata", raw, bearer)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert message in response.json()["detail"]
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


@pytest.mark.parametrize("case", BAD_BODIES)
def test_the_bulk_metadata_api_refuses_them_in_its_typed_body(client, item, bearer, case):
    raw, message = BAD_BODIES[case]
    body = '{"mode": "merge", "updates": {"' + str(item.uid) + '": ' + raw + "}}"
    response = _send(client, "post", "/api/w/acme/items/metadata", body, bearer)
    assert response.status_code == 400 or response.status_code == 422
    assert message in response.json()["detail"]
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


def test_a_duplicate_key_at_the_top_of_a_typed_body_is_refused(client, item, bearer):
    body = '{"mode": "merge", "mode": "overwrite", "updates": {}}'
    response = _send(client, "post", "/api/w/acme/items/metadata", body, bearer)
    assert response.status_code == 400
    assert response.json()["detail"].startswith('Duplicate key "mode" at line 1, column 19')


def test_item_metadata_over_1_mb_is_refused_through_the_api(client, item, bearer):
    big = {"weather": "Rain", "notes": ["x" * 1000] * 1800}
    response = _send(client, "put", f"/api/w/acme/items/{item.uid}/metadata", json.dumps(big), bearer)
    assert response.status_code == 422
    assert "at most 1,048,576 bytes (1 MB) are allowed" in response.json()["detail"]
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


def test_item_metadata_that_grows_past_1_mb_by_merging_is_refused(client, item, bearer):
    half = {"a": "x" * 600_000}
    assert _send(client, "patch", f"/api/w/acme/items/{item.uid}/metadata", json.dumps(half), bearer).status_code == 200
    response = _send(client, "patch", f"/api/w/acme/items/{item.uid}/metadata", json.dumps({"b": "y" * 600_000}), bearer)
    assert response.status_code == 422
    assert "(1 MB) are allowed" in response.json()["detail"]
    assert set(Item.objects.get(pk=item.pk).client_metadata) == {"weather", "a"}


@pytest.mark.parametrize("case", ["duplicate key", "900-deep object", "NaN", "unpaired surrogate"])
def test_the_supervisely_layer_refuses_them_in_custom_data(client, workspace, editor, case):
    project = make_project(workspace, "roads", custom_data={"owner": "ml"})
    raw, message = BAD_BODIES[case]
    body = '{"id": ' + str(project.pk) + ', "customData": ' + raw + "}"
    token = api_token_create(user=editor, name="sly")[1]
    response = client.post(
        "/public/api/v3/projects.editInfo", body, content_type="application/json", headers={"x-api-key": token}
    )
    assert response.status_code == 400
    assert message in response.json()["details"]["message"]
    project.refresh_from_db()
    assert project.custom_data == {"owner": "ml"}


def test_the_rules_are_the_strictjson_rules():
    """The API's parser is strictjson's: the messages above come from one place."""
    with pytest.raises(strictjson.StrictJSONError, match="Duplicate key"):
        strictjson.loads_body(b'[{"a": 1, "a": 2}]')
    assert strictjson.loads_body(b"") is None
    assert strictjson.loads_body(b'[1, {"a": [true]}]') == [1, {"a": [True]}]

"""Attack class: client input that made the server answer 500. Each is a specific 4xx that changes nothing.

Unicode digits (Python's int() and str.isdigit() take "²" and "٣"), NUL characters (PostgreSQL refuses them in
text), datetimes whose UTC instant leaves years 1-9999, unpaired surrogates, and request bodies over the upload
limit (the API answers in its JSON error shape, not Django's HTML 400).
"""

import json

import pytest
from django.urls import reverse

from metadata_site.accounts.models import ApiToken
from metadata_site.accounts.services import api_token_create
from metadata_site.items.models import Item
from metadata_site.lib.userinput import parse_id, parse_int, to_utc
from metadata_site.projects.models import Project
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

ORIGINAL = {"camera": "cam-1"}


@pytest.fixture
def world(workspace):
    make_schema(workspace, [{"name": "camera", "type": "string"}, {"name": "captured", "type": "datetime"}])
    folder = make_folder(workspace, "raw")
    item = make_item(folder, "a.jpg", metadata=dict(ORIGINAL))
    project = make_project(workspace, "roads", custom_data={"owner": "ml"})
    dataset = make_dataset(project, "train", items=[item])
    return {"folder": folder, "item": item, "project": project, "dataset": dataset}


@pytest.fixture
def bearer(editor):
    return {"Authorization": f"Bearer {api_token_create(user=editor, name='input')[1]}"}


def _json_error(response, status=400) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()["detail"]


# --- Unicode digits ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "٣", "1²", "+1", " 1", "1\n", "", "1" * 19, "0"])
def test_only_ascii_ids_that_fit_a_bigint_are_ids(text):
    assert parse_id(text) is None


def test_an_ascii_id_is_read_and_a_signed_value_only_when_asked():
    assert parse_id("42") == 42 and parse_id("9" * 18) == int("9" * 18)
    assert parse_int("-7") is None and parse_int("-7", signed=True) == -7


@pytest.mark.parametrize("ident", ["²", "٣", "1" * 30])
def test_a_unicode_digit_in_the_explorer_scope_is_a_400(login, editor, world, ident):
    for name in ("explorer:explore", "explorer:count", "explorer:facets"):
        response = login(editor).get(reverse(name, args=["acme"]), {"scope": f"folder:{ident}"})
        assert response.status_code == 400, name
        assert "scope" in response.content.decode()


@pytest.mark.parametrize("ids", ["²", "٣", "1,²"])
def test_a_unicode_digit_in_ids_is_a_400_naming_it(login, editor, world, ids):
    response = login(editor).get(reverse("collections:add-items", args=["acme"]), {"ids": ids})
    assert response.status_code in (200, 400)
    assert "is not an id" in response.content.decode()


@pytest.mark.parametrize("base", ["²", "٣", "9" * 40])
def test_a_unicode_digit_in_base_version_is_a_400_and_nothing_is_saved(login, editor, world, base):
    project = world["project"]
    url = reverse("projects:project-info-custom-data", args=["acme", project.pk])
    response = login(editor).post(url, {"text": '{"owner": "x"}', "base_version": base})
    assert response.status_code == 400
    assert Project.objects.get(pk=project.pk).custom_data == {"owner": "ml"}


@pytest.mark.parametrize("ident", ["²", "٣", "1" * 30])
def test_a_unicode_digit_as_a_dataset_id_of_the_api_is_a_json_404(client, bearer, world, ident):
    response = client.get(f"/api/v1/datasets/{ident}/custom_metadata/schema", headers=bearer)
    assert response.status_code == 404
    assert response.json()["detail"]


# --- NUL characters --------------------------------------------------------------------------------------------


def test_a_nul_in_a_filter_value_is_a_400_naming_the_parameter(login, editor, world):
    response = login(editor).get(reverse("explorer:explore", args=["acme"]), {"f": "camera:contains:a\x00b"})
    assert response.status_code == 400
    assert "query parameter “f” contains a NUL character" in response.content.decode()


def test_a_nul_in_an_api_filter_is_a_json_400(client, bearer, world):
    response = client.get("/api/w/acme/items", {"f": "camera:eq:a\x00b"}, headers=bearer)
    assert "query parameter “f” contains a NUL character" in _json_error(response)


def test_a_nul_in_the_path_is_a_400(client, bearer, world):
    response = client.get("/api/w/ac%00me/items", headers=bearer)
    assert "URL path contains a NUL character" in _json_error(response)


def test_a_nul_in_a_login_name_is_a_400(client, world):
    response = client.post(reverse("accounts:login"), {"username": "ed\x00itor", "password": "x"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert "form parameter “username” contains a NUL character" in response.content.decode()


def test_a_nul_in_a_token_name_is_a_400_and_no_token_is_made(login, editor):
    before = ApiToken.objects.count()
    response = login(editor).post(reverse("accounts:token-create"), {"name": "my\x00token"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert "form parameter “name” contains a NUL character" in response.content.decode()
    assert ApiToken.objects.count() == before


# --- datetimes at the edge of the range ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"])
def test_a_datetime_outside_the_utc_range_is_refused_through_the_api(client, bearer, world, value):
    item = world["item"]
    response = client.patch(
        f"/api/w/acme/items/{item.uid}/metadata", json.dumps({"captured": value}), content_type="application/json",
        headers=bearer,
    )
    detail = _json_error(response, 422)
    assert "out of range: converted to UTC it must fall between the years 0001 and 9999" in detail
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"])
def test_a_datetime_outside_the_utc_range_in_a_filter_is_a_400(login, client, bearer, editor, world, value):
    response = login(editor).get(reverse("explorer:explore", args=["acme"]), {"f": f"captured:gt:{value}"})
    assert response.status_code == 400
    assert 400 <= client.get("/api/w/acme/items", {"f": f"captured:gt:{value}"}, headers=bearer).status_code < 500


def test_to_utc_says_none_for_an_instant_outside_the_range():
    from datetime import datetime

    assert to_utc(datetime.fromisoformat("0001-01-01T00:00:00+01:00")) is None
    assert to_utc(datetime.fromisoformat("0001-01-01T01:00:00+01:00")).year == 1


# --- unpaired surrogates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ['{"camera": "\\ud800"}', '{"other": {"x": "\\udfff"}}', '{"\\ud800": 1}'])
def test_an_unpaired_surrogate_in_item_metadata_is_refused_through_the_api(client, bearer, world, body):
    item = world["item"]
    response = client.put(f"/api/w/acme/items/{item.uid}/metadata", body, content_type="application/json",
                          headers=bearer)  # fmt: skip
    assert "unpaired surrogate" in _json_error(response, response.status_code)
    assert 400 <= response.status_code < 500
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


@pytest.mark.parametrize("text", ['{"camera": "\\ud800"}', '{"other": "a\\udc00b"}'])
def test_an_unpaired_surrogate_in_the_json_editor_is_a_400(login, editor, world, text):
    item = world["item"]
    url = reverse("items:edit-metadata-json", args=["acme", item.uid])
    response = login(editor).post(url, {"metadata": text, "mode": "overwrite"})
    assert response.status_code == 400
    assert "unpaired surrogate" in response.content.decode()
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL


def test_an_unpaired_surrogate_in_a_declared_string_is_refused_by_validation():
    from metadata_site.schemas.fields import FieldSpec, FieldType
    from metadata_site.schemas.validation import VALUE_LONE_SURROGATE, FieldValueError, validate_value

    with pytest.raises(FieldValueError) as exc:
        validate_value(FieldSpec(name="camera", type=FieldType.STRING), "a\ud800")
    assert exc.value.message == VALUE_LONE_SURROGATE.format(code="\\ud800", position=1)


# --- bodies over the upload limit ---------------------------------------------------------------------------------


def test_an_api_body_over_the_upload_limit_is_a_json_413(client, bearer, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    item = world["item"]
    body = json.dumps({"camera": "x" * 2000})
    for method, path in [("put", f"/api/w/acme/items/{item.uid}/metadata"), ("post", "/api/w/acme/items/metadata")]:
        response = getattr(client, method)(path, body, content_type="application/json", headers=bearer)
        detail = _json_error(response, 413)
        assert "larger than 1,000 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)" in detail
    assert Item.objects.get(pk=item.pk).client_metadata == ORIGINAL

"""The Visual Layer custom-metadata flow, exactly as its documentation shows it."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from metadata_site.api.routers.visual_layer import VL_DATASET_IMPORTING, VL_EXPECTED, VL_FIELD_EXISTS
from metadata_site.projects.models import DatasetStatus
from tests.factories import make_dataset, make_folder, make_item, make_project

from .conftest import assert_error_shape


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def dataset(workspace):
    folder = make_folder(workspace, "raw")
    items = [make_item(folder, f"{i}.jpg") for i in range(3)]
    return make_dataset(make_project(workspace), "Roads", items=items)


def _items(dataset):
    return list(dataset.items.order_by("pk"))


@pytest.mark.django_db
@pytest.mark.parametrize("as_file", [True, False])
def test_the_documented_flow(api_as, editor, dataset, as_file):
    client = api_as(editor)
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata"
    resp = client.post(f"{base}/tasks", {"field_name": "lighting", "field_type": "enum",
                                         "enum_options": ["Sunny", "Cloudy"], "is_multi": False})
    assert resp.status_code == 200, resp.content
    declared = resp.json()
    assert set(declared) == {"task_id", "status"} and declared["status"] == "INIT"

    a, b, c = _items(dataset)
    rows = [{"media_id": str(a.uid), "value": "Sunny"},
            {"media_id": str(b.uid), "value": "Cloudy"},
            {"media_id": str(c.uid), "value": 17}]
    if as_file:
        file = SimpleUploadedFile("lighting.json", json.dumps(rows).encode(), content_type="application/json")
        resp = client.client.post(f"{base}/tasks/{declared['task_id']}", {"file": file}, headers=client.headers)
    else:
        resp = client.post(f"{base}/tasks/{declared['task_id']}", rows)
    assert resp.status_code == 200, resp.content

    status = client.get(f"{base}/tasks/{declared['task_id']}/status").json()
    assert status["task_id"] == declared["task_id"]
    assert status["status"] == "COMPLETED_WITH_ERRORS"
    assert status["progress"] == 100.0
    assert status["inserted_rows"] == 2
    assert status["error_count"] == 1
    assert status["sample_errors"][0]["row_index"] == 2
    assert status["sample_errors"][0]["reason"] == "Expected Enum"

    schema = client.get(f"{base}/schema").json()
    assert {"field_name": "lighting", "field_type": "enum", "enum_options": ["Sunny", "Cloudy"],
            "is_multi": False} in schema

    resp = client.get(f"/api/v1/datasets/{dataset.pk}/image/{a.uid}/custom_metadata")
    assert resp.json() == [{"field_name": "lighting", "field_type": "enum", "value": "Sunny"}]


@pytest.mark.django_db
def test_the_dataset_may_be_named_by_its_uuid(api_as, editor, dataset):
    client = api_as(editor)
    resp = client.post(f"/api/v1/datasets/{dataset.uid}/custom_metadata/tasks",
                       {"field_name": "temperature", "field_type": "float"})
    assert resp.status_code == 200
    a = _items(dataset)[0]
    client.post(f"/api/v1/datasets/{dataset.uid}/custom_metadata/tasks/{resp.json()['task_id']}",
                [{"media_id": str(a.uid), "value": 23.5}])
    assert client.get(f"/api/v1/datasets/{dataset.uid}/image/{a.uid}/custom_metadata").json() == [
        {"field_name": "temperature", "field_type": "float", "value": 23.5}]


@pytest.mark.django_db
def test_redeclaring_a_field_differently_is_409(api_as, editor, dataset):
    client = api_as(editor)
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks"
    assert client.post(base, {"field_name": "t", "field_type": "float"}).status_code == 200
    assert client.post(base, {"field_name": "t", "field_type": "float"}).status_code == 200
    body = assert_error_shape(client.post(base, {"field_name": "t", "field_type": "string"}), 409)
    assert body["detail"] == VL_FIELD_EXISTS.format(name="t", existing="float", wanted="string")
    assert "already declared as float" in body["detail"]


@pytest.mark.django_db
def test_redeclaring_an_enum_with_other_options_names_the_existing_options(api_as, editor, dataset):
    client = api_as(editor)
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks"
    declared = {"field_name": "colors", "field_type": "enum", "enum_options": ["red", "blue"], "is_multi": True}
    assert client.post(base, declared).status_code == 200
    body = assert_error_shape(client.post(base, {**declared, "enum_options": ["red", "green"]}), 409)
    assert "already declared as enum (multi) with the options red, blue" in body["detail"]
    assert "asks for enum (multi) with the options red, green" in body["detail"]
    body = assert_error_shape(client.post(base, {**declared, "is_multi": False}), 409)
    assert "asks for enum (single)" in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(("field_type", "good", "bad", "reason"), [
    ("string", "Sunny", 17, "Expected String"),
    ("float", 23.5, "warm", "Expected Float"),
    ("datetime", "2024-02-24T10:00:00Z", "yesterday", "Expected Datetime"),
    ("link", "https://example.org/a.jpg", "not a link", "Expected Link"),
])
def test_status_reasons_use_the_documented_wording(api_as, editor, dataset, field_type, good, bad, reason):
    client = api_as(editor)
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata"
    task = client.post(f"{base}/tasks", {"field_name": "f", "field_type": field_type}).json()["task_id"]
    a, b, _c = _items(dataset)
    rows = [{"media_id": str(a.uid), "value": good}, {"media_id": str(b.uid), "value": bad},
            {"media_id": "9bd58157-ca74-4ae4-8f37-a0193431bcba", "value": good}]
    client.post(f"{base}/tasks/{task}", rows)
    errors = client.get(f"{base}/tasks/{task}/status").json()["sample_errors"]
    assert errors[0]["reason"] == reason == VL_EXPECTED[field_type]
    assert errors[0]["row_index"] == 1 and errors[0]["detail"].startswith("f: Expected")
    # A row error that is not about the value's type keeps its own reason.
    assert errors[1]["row_index"] == 2 and "No item with the media_id" in errors[1]["reason"]


@pytest.mark.django_db
def test_an_importing_dataset_is_refused_with_409(api_as, editor, dataset):
    dataset.status = DatasetStatus.IMPORTING
    dataset.save()
    resp = api_as(editor).post(f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks",
                               {"field_name": "t", "field_type": "float"})
    assert assert_error_shape(resp, 409)["detail"] == VL_DATASET_IMPORTING


@pytest.mark.django_db
def test_a_bad_field_type_is_422(api_as, editor, dataset):
    assert_error_shape(api_as(editor).post(f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks",
                                           {"field_name": "t", "field_type": "colour"}), 422)


@pytest.mark.django_db
def test_upload_without_a_file_is_400(api_as, editor, dataset):
    client = api_as(editor)
    task = client.post(f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks",
                       {"field_name": "t", "field_type": "float"}).json()
    resp = client.client.post(f"/api/v1/datasets/{dataset.pk}/custom_metadata/tasks/{task['task_id']}", {},
                              headers=client.headers)
    assert_error_shape(resp, 400)


@pytest.mark.django_db
def test_permissions_follow_the_workspace(api_as, viewer, stranger, dataset):
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata"
    assert_error_shape(api_as(viewer).post(f"{base}/tasks", {"field_name": "t", "field_type": "float"}), 403)
    assert api_as(viewer).get(f"{base}/schema").status_code == 200
    assert_error_shape(api_as(stranger).get(f"{base}/schema"), 404)
    assert_error_shape(api_as(None).get(f"{base}/schema"), 401)


@pytest.mark.django_db
def test_an_image_outside_the_dataset_is_404(api_as, viewer, dataset, workspace):
    other = make_item(make_folder(workspace, "other"))
    assert_error_shape(api_as(viewer).get(f"/api/v1/datasets/{dataset.pk}/image/{other.uid}/custom_metadata"), 404)


@pytest.mark.django_db
def test_a_datetime_field_takes_dates_as_the_documents_write_them(api_as, editor, dataset):
    client = api_as(editor)
    base = f"/api/v1/datasets/{dataset.pk}/custom_metadata"
    task = client.post(f"{base}/tasks", {"field_name": "captured_at", "field_type": "datetime"}).json()["task_id"]
    a = _items(dataset)[0]
    client.post(f"{base}/tasks/{task}", [{"media_id": str(a.uid), "value": "2024-02-24"}])
    assert client.get(f"{base}/tasks/{task}/status").json()["error_count"] == 0
    assert client.get(f"/api/v1/datasets/{dataset.pk}/image/{a.uid}/custom_metadata").json() == [
        {"field_name": "captured_at", "field_type": "datetime", "value": "2024-02-24T00:00:00Z"}]

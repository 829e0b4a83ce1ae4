import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from metadata_site.items.models import Item
from tests.factories import make_folder, make_item, make_schema

from .conftest import assert_error_shape


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def setup(workspace):
    make_schema(workspace, [{"name": "t", "type": "float"}])
    folder = make_folder(workspace, "raw")
    return folder, [make_item(folder, f"{i}.jpg", metadata={}) for i in range(3)]


def _upload(client, task_id, rows):
    file = SimpleUploadedFile("rows.json", json.dumps(rows).encode(), content_type="application/json")
    return client.client.post(f"/api/w/acme/imports/{task_id}/upload", {"file": file}, headers=client.headers)


@pytest.mark.django_db
def test_dry_run_then_apply_then_undo(api_as, editor, setup):
    folder, items = setup
    client = api_as(editor)
    resp = client.post("/api/w/acme/imports", {"kind": "metadata_rows", "target": {"folder": folder.pk}})
    assert resp.status_code == 201, resp.content
    task = resp.json()
    assert task["status"] == "INIT"
    rows = [{"media_id": str(items[0].uid), "metadata": {"t": 1.5}},
            {"media_id": str(items[1].uid), "metadata": {"t": "warm"}}]
    assert _upload(client, task["id"], rows).status_code == 200
    checked = client.get(f"/api/w/acme/imports/{task['id']}").json()
    assert checked["status"] == "VALIDATED"
    assert checked["error_count"] == 1
    assert checked["sample_errors"][0]["row_index"] == 1
    assert Item.objects.get(pk=items[0].pk).client_metadata == {}
    applied = client.post(f"/api/w/acme/imports/{task['id']}/apply", {"policy": "skip_bad_rows"}).json()
    assert applied["status"] == "COMPLETED_WITH_ERRORS"
    assert Item.objects.get(pk=items[0].pk).client_metadata == {"t": 1.5}
    listed = client.get("/api/w/acme/imports").json()
    assert listed["results"][0]["id"] == task["id"]
    undone = client.post(f"/api/w/acme/imports/{task['id']}/undo").json()
    assert undone["undone_at"] is not None
    assert Item.objects.get(pk=items[0].pk).client_metadata == {}


@pytest.mark.django_db
def test_cancel_a_waiting_task(api_as, editor, setup):
    folder, _items = setup
    client = api_as(editor)
    task = client.post("/api/w/acme/imports", {"kind": "metadata_rows", "target": {"folder": folder.pk}}).json()
    assert client.post(f"/api/w/acme/imports/{task['id']}/cancel").json()["status"] == "CANCELLED"
    assert_error_shape(client.post(f"/api/w/acme/imports/{task['id']}/cancel"), 409)


@pytest.mark.django_db
def test_a_bad_target_is_422(api_as, editor, setup):
    body = assert_error_shape(api_as(editor).post("/api/w/acme/imports", {"kind": "metadata_rows",
                                                                          "target": {"folder": 999999}}), 422)
    assert "999999" in body["detail"]


@pytest.mark.django_db
def test_upload_without_a_file_is_a_400_naming_the_field(api_as, editor, setup):
    folder, _items = setup
    client = api_as(editor)
    task = client.post("/api/w/acme/imports", {"kind": "metadata_rows", "target": {"folder": folder.pk}}).json()
    resp = client.client.post(f"/api/w/acme/imports/{task['id']}/upload", {}, headers=client.headers)
    assert_error_shape(resp, 400)
    assert resp.json()["errors"] == [{"loc": ["body", "file"], "msg": "Send the file as the multipart form field `file`."}]


@pytest.mark.django_db
def test_viewers_cannot_import(api_as, viewer, setup):
    folder, _items = setup
    assert_error_shape(api_as(viewer).post("/api/w/acme/imports", {"kind": "metadata_rows",
                                                                   "target": {"folder": folder.pk}}), 403)


@pytest.mark.django_db
def test_export_then_download(api_as, viewer, setup, workspace):
    folder, items = setup
    client = api_as(viewer)
    resp = client.post("/api/w/acme/exports", {"format": "jsonl", "scope": f"folder:{folder.pk}", "f": ["t:is_unset"]})
    assert resp.status_code == 201, resp.content
    export = client.get(f"/api/w/acme/exports/{resp.json()['id']}").json()
    assert export["status"] == "COMPLETED" and export["exported_rows"] == 3
    file = client.get(export["download_url"].replace("http://testserver", ""))
    assert file.status_code == 200
    rows = [json.loads(line) for line in b"".join(file.streaming_content).decode().splitlines()]
    assert sorted(r["media_id"] for r in rows) == sorted(str(i.uid) for i in items)


@pytest.mark.django_db
def test_a_bad_export_filter_is_400(api_as, viewer, setup):
    assert_error_shape(api_as(viewer).post("/api/w/acme/exports", {"f": ["nope:has_any:a"]}), 400)
    assert_error_shape(api_as(viewer).post("/api/w/acme/exports", {"format": "xml"}), 422)

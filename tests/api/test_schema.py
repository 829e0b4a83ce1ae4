import pytest

from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema

from .conftest import assert_error_shape


@pytest.mark.django_db
def test_it_returns_the_current_schema(api_as, viewer, workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny"]}])
    body = api_as(viewer).get("/api/w/acme/schema").json()
    assert body["version"] == 1
    assert body["fields"][0]["name"] == "weather" and body["fields"][0]["options"] == ["Sunny"]


@pytest.mark.django_db
def test_it_declares_a_field_as_a_new_version(api_as, editor, workspace):
    client = api_as(editor)
    resp = client.post("/api/w/acme/schema/fields", {"name": "temperature", "type": "float", "unit": "C"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["version"] == 1
    resp = client.post("/api/w/acme/schema/fields", {"field_name": "colors", "field_type": "enum",
                                                       "enum_options": ["red", "blue"], "is_multi": True})
    assert resp.json()["version"] == 2
    assert schema_current(workspace=workspace).get("colors").is_multi


@pytest.mark.django_db
def test_declaring_an_existing_or_bad_field_is_422(api_as, editor, workspace):
    client = api_as(editor)
    client.post("/api/w/acme/schema/fields", {"name": "t", "type": "float"})
    assert_error_shape(client.post("/api/w/acme/schema/fields", {"name": "t", "type": "float"}), 422)
    assert_error_shape(client.post("/api/w/acme/schema/fields", {"name": "u", "type": "colour"}), 422)


@pytest.mark.django_db
def test_put_imports_a_whole_schema_and_lists_versions(api_as, editor, workspace):
    make_schema(workspace, [{"name": "old", "type": "string"}])
    client = api_as(editor)
    fields = [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}, {"name": "t", "type": "float"}]
    dry = client.put("/api/w/acme/schema?dry_run=true", {"fields": fields}).json()
    assert dry["applied"] is False and sorted(dry["added"]) == ["t", "weather"] and dry["dropped"] == ["old"]
    assert schema_current(workspace=workspace).version == 1
    body = client.put("/api/w/acme/schema", {"fields": fields}).json()
    assert body["applied"] is True and body["version"] == 2
    versions = client.get("/api/w/acme/schema/versions").json()
    assert [v["version"] for v in versions["results"]] == [2, 1]


@pytest.mark.django_db
def test_a_type_change_converts_values(api_as, editor, workspace):
    make_schema(workspace, [{"name": "t", "type": "string"}])
    item = make_item(make_folder(workspace), metadata={"t": "12.5"})
    body = api_as(editor).put("/api/w/acme/schema", {"fields": [{"name": "t", "type": "float"}]}).json()
    assert body["changed"][0]["converted"] == 1
    item.refresh_from_db()
    assert item.client_metadata["t"] == 12.5


@pytest.mark.django_db
def test_a_bad_schema_document_names_the_field(api_as, editor, workspace):
    body = assert_error_shape(
        api_as(editor).put("/api/w/acme/schema", {"fields": [{"name": "ok", "type": "float"}, {"name": "x"}]}), 422)
    assert body["errors"][0]["loc"][:3] == ["body", "fields", 1]


@pytest.mark.django_db
def test_viewers_cannot_change_the_schema(api_as, viewer, workspace):
    assert_error_shape(api_as(viewer).post("/api/w/acme/schema/fields", {"name": "t", "type": "float"}), 403)
    assert_error_shape(api_as(viewer).put("/api/w/acme/schema", {"fields": []}), 403)


@pytest.mark.django_db
def test_the_api_lists_keys_and_filters_them(api_as, workspace, viewer, stranger):
    folder = make_folder(workspace)
    make_item(folder, "a1.jpg", metadata={"group-id": "A", "size": 3})
    make_item(folder, "a2.jpg", metadata={"group-id": "A", "size": 12.5})
    make_item(folder, "b.jpg", metadata={"size": "big", "elsewhere": 1})
    client = api_as(viewer)
    body = client.get("/api/w/acme/schema/undeclared").json()
    assert {k["name"] for k in body["keys"]} >= {"group-id", "size", "elsewhere"}
    assert body["exact"] is True
    listed = client.get("/api/w/acme/items", {"f": "size:gte:3"}).json()
    assert sorted(i["title"] for i in listed["results"]) == ["a1.jpg", "a2.jpg"]
    bad = client.get("/api/w/acme/items", {"f": "size:gte:big"})
    assert bad.status_code == 400 and "expects a number" in bad.json()["detail"]
    assert api_as(stranger).get("/api/w/acme/schema/undeclared").status_code == 404


@pytest.mark.django_db
def test_the_api_infers_a_schema_that_put_applies(api_as, workspace, editor):
    folder = make_folder(workspace)
    for n in range(4):
        make_item(folder, f"i{n}.jpg", metadata={"group-id": "AB"[n % 2], "size": n / 2})
    client = api_as(editor)
    body = client.get("/api/w/acme/schema/inferred").json()
    assert [f["name"] for f in body["inferred"]] == ["group-id", "size"]
    assert body["inferred"][0]["options"] == ["A", "B"] and body["inferred"][1]["type"] == "float"
    resp = client.put("/api/w/acme/schema", {"fields": body["fields"]})
    assert resp.status_code == 200 and resp.json()["added"] == ["group-id", "size"]
    assert_error_shape(client.get("/api/w/acme/schema/inferred", {"scope": "folder:x"}), 400)


@pytest.mark.django_db
def test_the_api_renames_a_field_and_reports_the_progress(api_as, workspace, editor, viewer):
    make_schema(workspace, [{"name": "temp", "type": "float"}])
    folder = make_folder(workspace)
    item = make_item(folder, "a.jpg", metadata={"temp": 3.5})
    resp = api_as(editor).post("/api/w/acme/schema/fields/temp/rename", {"new_name": "temperature"})
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert (body["status"], body["done"], body["total"]) == ("COMPLETED", 1, 1)
    assert api_as(viewer).get(f"/api/w/acme/schema/renames/{body['id']}").json()["progress"] == 100
    item.refresh_from_db()
    assert item.client_metadata == {"temperature": 3.5}
    undo = api_as(editor).post(f"/api/w/acme/change_sets/{body['change_set']}/undo")
    assert undo.status_code == 200, undo.content
    item.refresh_from_db()
    assert item.client_metadata == {"temp": 3.5}
    assert schema_current(workspace=workspace).get("temp") is not None
    bad = assert_error_shape(api_as(editor).post("/api/w/acme/schema/fields/temp/rename", {"new_name": "a/b"}), 422)
    assert "may contain only letters" in bad["detail"]
    assert_error_shape(api_as(viewer).post("/api/w/acme/schema/fields/temp/rename", {"new_name": "t2"}), 403)
    assert_error_shape(api_as(editor).get("/api/w/acme/schema/renames/999999"), 404)
    assert_error_shape(api_as(editor).post("/api/w/acme/schema/fields/nope/rename", {"new_name": "x"}), 404)

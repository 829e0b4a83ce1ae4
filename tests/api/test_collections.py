import pytest

from metadata_site.collections.models import Collection
from metadata_site.projects.models import Dataset
from tests.factories import make_folder, make_item, make_project, make_schema

from .conftest import assert_error_shape


@pytest.fixture
def items(workspace):
    make_schema(workspace, [{"name": "t", "type": "float"}])
    folder = make_folder(workspace, "raw")
    return [make_item(folder, f"{i}.jpg", metadata={"t": float(i)}) for i in range(6)]


@pytest.mark.django_db
def test_create_from_items_and_from_a_filter(api_as, editor, items):
    client = api_as(editor)
    resp = client.post("/api/w/acme/collections", {"title": "Picked", "items": [str(i.uid) for i in items[:2]]})
    assert resp.status_code == 201, resp.content
    assert resp.json()["item_count"] == 2
    body = client.post("/api/w/acme/collections", {
        "title": "Warm", "filter": {"all": [{"field": "t", "op": "gte", "value": 3}]}}).json()
    assert body["item_count"] == 3 and body["kind"] == "frozen"
    live = client.post("/api/w/acme/collections", {
        "title": "Live", "kind": "live", "filter": {"all": [{"field": "t", "op": "lt", "value": 1}]}}).json()
    assert live["item_count"] == 1
    listed = client.get("/api/w/acme/collections").json()
    assert [c["title"] for c in listed["results"]] == ["Picked", "Warm", "Live"]


@pytest.mark.django_db
def test_add_and_remove_items(api_as, editor, items):
    client = api_as(editor)
    cid = client.post("/api/w/acme/collections", {"title": "C", "items": [str(items[0].uid)]}).json()["id"]
    added = client.post(f"/api/w/acme/collections/{cid}/items", {"items": [str(i.uid) for i in items[:3]]}).json()
    assert added["added"] == 2
    removed = client.post(f"/api/w/acme/collections/{cid}/items/remove",
                          {"filter": {"all": [{"field": "t", "op": "eq", "value": 0}]}}).json()
    assert removed["removed"] == 1
    assert client.get(f"/api/w/acme/collections/{cid}").json()["item_count"] == 2
    assert client.delete(f"/api/w/acme/collections/{cid}").status_code == 204
    assert not Collection.objects.filter(pk=cid).exists()


@pytest.mark.django_db
def test_mistakes_are_422(api_as, editor, items):
    client = api_as(editor)
    client.post("/api/w/acme/collections", {"title": "Same", "items": []})
    assert_error_shape(client.post("/api/w/acme/collections", {"title": "Same", "items": []}), 422)
    assert_error_shape(client.post("/api/w/acme/collections", {"title": "X", "items": [
        "00000000-0000-0000-0000-000000000000"]}), 422)
    assert_error_shape(client.post("/api/w/acme/collections", {"title": "Y", "filter": {
        "all": [{"field": "nope", "op": "has_any", "value": 1}]}}), 422)
    assert_error_shape(client.post("/api/w/acme/collections", {"title": "Z", "kind": "live"}), 422)


@pytest.mark.django_db
def test_a_dataset_from_collections(api_as, editor, items, workspace):
    client = api_as(editor)
    a = client.post("/api/w/acme/collections", {"title": "A", "items": [str(i.uid) for i in items[:3]]}).json()
    b = client.post("/api/w/acme/collections", {"title": "B", "items": [str(i.uid) for i in items[2:4]]}).json()
    project = make_project(workspace, "P")
    resp = client.post("/api/w/acme/datasets/from_collections",
                       {"name": "Train", "project": project.pk, "collections": [a["id"], b["id"]]})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["item_count"] == 4 and body["status"] == "READY" and body["project"] == project.pk
    assert Dataset.objects.get(pk=body["id"]).source["collections"]
    assert_error_shape(client.post("/api/w/acme/datasets/from_collections",
                                   {"name": "Train", "project": project.pk, "collections": [a["id"]]}), 422)


@pytest.mark.django_db
def test_viewers_read_but_cannot_write_and_strangers_get_404(api_as, viewer, stranger, items, workspace):
    assert api_as(viewer).get("/api/w/acme/collections").status_code == 200
    assert_error_shape(api_as(viewer).post("/api/w/acme/collections", {"title": "V", "items": []}), 403)
    assert_error_shape(api_as(stranger).get("/api/w/acme/collections"), 404)


@pytest.mark.django_db
def test_a_live_collection_whose_field_changed_type_is_listed_with_its_problem(api_as, owner, editor, viewer, stranger,
                                                                           items, workspace):
    from metadata_site.schemas.services import schema_change_field

    client = api_as(editor)
    client.post("/api/w/acme/collections", {"title": "Warm", "items": [str(items[0].uid)]})
    client.post("/api/w/acme/collections", {
        "title": "Broken", "kind": "live", "filter": {"all": [{"field": "t", "op": "lt", "value": 1}]}})
    client.post("/api/w/acme/collections", {"title": "Folder", "kind": "live",
                                             "filter": {"scope": f"folder:{items[0].folder_id}"}})
    # A dropped field's name would filter the raw values as an undeclared key; a boolean has no `lt`.
    schema_change_field(workspace=workspace, user=owner, name="t", field={"name": "t", "type": "boolean"}, dry_run=False)
    for user in (owner, editor, viewer):
        resp = api_as(user).get("/api/w/acme/collections")
        assert resp.status_code == 200, resp.content
        rows = {c["title"]: c for c in resp.json()["results"]}
        assert rows["Warm"]["item_count"] == 1 and rows["Warm"]["problem"] is None
        assert rows["Folder"]["item_count"] == 6 and rows["Folder"]["problem"] is None
        assert rows["Broken"]["item_count"] is None
        assert "'lt'" in rows["Broken"]["problem"] and "boolean" in rows["Broken"]["problem"]
    broken = rows["Broken"]["id"]
    assert api_as(viewer).get(f"/api/w/acme/collections/{broken}").json()["problem"]
    assert_error_shape(api_as(stranger).get("/api/w/acme/collections"), 404)

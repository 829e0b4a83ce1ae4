import pytest

from metadata_site.api.routers.items import BULK_TOO_MANY
from metadata_site.items.models import ChangeSet, Item
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

from .conftest import assert_error_shape


@pytest.fixture
def items(workspace):
    make_schema(workspace, [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "Snow"]},
        {"name": "temperature", "type": "float"},
        {"name": "captured_at", "type": "datetime"},
    ])
    folder = make_folder(workspace, "raw")
    return [
        make_item(folder, "a.jpg", metadata={"weather": "Sunny", "temperature": 31.5}),
        make_item(folder, "b.jpg", metadata={"weather": "Rain", "temperature": 12.0}),
        make_item(folder, "c.jpg", metadata={"weather": "Sunny", "temperature": 20.0}),
        make_item(folder, "d.jpg", metadata={}),
    ]


@pytest.mark.django_db
def test_it_lists_items_with_their_metadata(api_as, viewer, items):
    body = api_as(viewer).get("/api/w/acme/items").json()
    assert body["count"] == 4
    first = body["results"][0]
    assert set(first) >= {"uid", "title", "kind", "media_url", "metadata"}
    assert first["uid"] == str(items[0].uid)
    assert first["metadata"] == {"weather": "Sunny", "temperature": 31.5}


@pytest.mark.django_db
def test_it_filters_with_the_explorer_language(api_as, viewer, items):
    body = api_as(viewer).get("/api/w/acme/items?f=weather:in:Sunny,Rain&f=temperature:gt:15").json()
    assert body["count"] == 2
    assert [r["title"] for r in body["results"]] == ["a.jpg", "c.jpg"]


@pytest.mark.django_db
def test_it_sorts_and_pages_with_next_links(api_as, viewer, items):
    client = api_as(viewer)
    body = client.get("/api/w/acme/items?sort=-temperature&limit=2").json()
    titles = [r["title"] for r in body["results"]]
    assert body["count"] == 4
    while body["next"]:
        body = client.get(body["next"]).json()
        titles += [r["title"] for r in body["results"]]
    assert titles == ["a.jpg", "c.jpg", "b.jpg", "d.jpg"]


@pytest.mark.django_db
def test_it_scopes_to_a_dataset(api_as, viewer, items, workspace):
    dataset = make_dataset(make_project(workspace), items=items[1:3])
    body = api_as(viewer).get(f"/api/w/acme/items?scope=dataset:{dataset.pk}").json()
    assert sorted(r["title"] for r in body["results"]) == ["b.jpg", "c.jpg"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["f=nope:gt:warm", "f=weather:gt:Sunny", "f=temperature:gt:warm", "f=bad",
                                   "scope=planet:1", "sort=nope", "cursor=zzz"])
def test_bad_filters_are_400_naming_the_parameter(api_as, viewer, items, query):
    body = assert_error_shape(api_as(viewer).get(f"/api/w/acme/items?{query}"), 400)
    assert body["errors"][0]["loc"][0] == "query"


@pytest.mark.django_db
def test_the_post_search_takes_the_json_form(api_as, viewer, items):
    client = api_as(viewer)
    form = {"all": [{"field": "temperature", "op": "between", "value": [10, 25]}], "sort": "temperature", "limit": 1}
    body = client.post("/api/w/acme/items/search", form).json()
    assert body["count"] == 2
    assert body["results"][0]["title"] == "b.jpg"
    body = client.post("/api/w/acme/items/search", {**form, "cursor": body["next"]}).json()
    assert [r["title"] for r in body["results"]] == ["c.jpg"]
    assert body["next"] is None


@pytest.mark.django_db
def test_a_bad_json_filter_is_400_in_the_body(api_as, viewer, items):
    body = assert_error_shape(
        api_as(viewer).post("/api/w/acme/items/search", {"all": [{"field": "weather", "op": "eq", "value": "Hail"}]}),
        400)
    assert body["errors"][0]["loc"][0] == "body"


@pytest.mark.django_db
def test_item_metadata_get_put_and_patch(api_as, editor, items):
    client = api_as(editor)
    uid = items[0].uid
    assert client.get(f"/api/w/acme/items/{uid}/metadata").json() == {"weather": "Sunny", "temperature": 31.5}
    resp = client.patch(f"/api/w/acme/items/{uid}/metadata", {"temperature": None, "note": "ok"})
    assert resp.status_code == 200, resp.content
    assert resp.json()["metadata"] == {"weather": "Sunny", "note": "ok"}
    assert resp.json()["status"] == "changed"
    resp = client.put(f"/api/w/acme/items/{uid}/metadata", {"weather": "Rain"})
    assert resp.json()["metadata"] == {"weather": "Rain"}
    assert client.get(f"/api/w/acme/items/{uid}").json()["metadata"] == {"weather": "Rain"}


@pytest.mark.django_db
def test_invalid_item_metadata_is_422_naming_the_key_and_changes_nothing(api_as, editor, items):
    resp = api_as(editor).patch(f"/api/w/acme/items/{items[0].uid}/metadata", {"weather": "Hail"})
    body = assert_error_shape(resp, 422)
    assert body["errors"][0]["loc"] == ["body", "weather"]
    items[0].refresh_from_db()
    assert items[0].client_metadata["weather"] == "Sunny"


@pytest.mark.django_db
def test_bulk_writes_rows_atomically_each_with_a_result(api_as, editor, items):
    updates = [
        {"uid": str(items[0].uid), "metadata": {"temperature": 1.0}},
        {"uid": str(items[1].uid), "metadata": {"weather": "Hail"}},
        {"uid": "00000000-0000-0000-0000-000000000000", "metadata": {"weather": "Rain"}},
        {"uid": str(items[2].uid), "metadata": {"weather": "Sunny"}},
    ]
    body = api_as(editor).post("/api/w/acme/items/metadata", {"mode": "merge", "updates": updates}).json()
    assert [r["status"] for r in body["results"]] == ["changed", "failed", "failed", "unchanged"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert body["results"][1]["errors"][0]["key"] == "weather"
    assert (body["changed"], body["unchanged"], body["failed"]) == (1, 1, 2)
    assert Item.objects.get(pk=items[0].pk).client_metadata == {"weather": "Sunny", "temperature": 1.0}
    assert Item.objects.get(pk=items[1].pk).client_metadata["weather"] == "Rain"
    assert ChangeSet.objects.get(pk=body["change_set"]).source == "api"


@pytest.mark.django_db
def test_bulk_accepts_a_mapping_and_overwrite(api_as, editor, items):
    body = api_as(editor).post("/api/w/acme/items/metadata",
                               {"mode": "overwrite", "updates": {str(items[0].uid): {"temperature": 2.0}}}).json()
    assert body["changed"] == 1
    assert Item.objects.get(pk=items[0].pk).client_metadata == {"temperature": 2.0}


@pytest.mark.django_db
def test_bulk_refuses_more_than_10000_items(api_as, editor, items):
    updates = {f"00000000-0000-0000-0000-{i:012d}": {} for i in range(10_001)}
    body = assert_error_shape(api_as(editor).post("/api/w/acme/items/metadata", {"updates": updates}), 422)
    assert body["detail"] == BULK_TOO_MANY.format(limit=10_000, count=10_001)


@pytest.mark.django_db
def test_bulk_refuses_an_unknown_mode(api_as, editor, items):
    assert_error_shape(api_as(editor).post("/api/w/acme/items/metadata", {"mode": "replace", "updates": {}}), 422)


@pytest.mark.django_db
def test_viewers_cannot_write_metadata(api_as, viewer, items):
    client = api_as(viewer)
    assert_error_shape(client.patch(f"/api/w/acme/items/{items[0].uid}/metadata", {"weather": "Rain"}), 403)
    assert_error_shape(client.post("/api/w/acme/items/metadata", {"updates": {}}), 403)


@pytest.mark.django_db
def test_items_of_another_workspace_are_404(api_as, stranger, items):
    client = api_as(stranger)
    assert_error_shape(client.get(f"/api/w/elsewhere/items/{items[0].uid}"), 404)
    assert_error_shape(client.get(f"/api/w/acme/items/{items[0].uid}"), 404)


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "key", "message"), [
    ({"taken": "9999-12-31T23:00:00-23:59"}, "taken", "out of range"),
    ({"taken": "0001-01-01T00:00:00+01:00"}, "taken", "out of range"),
    ({"weather": "Sunny", "note": "a\ud800"}, "note", "lone surrogate \\ud800"),
    ({"extra": {"list": ["\udc00"]}}, "extra", "lone surrogate \\udc00"),
])
def test_values_the_database_could_not_store_are_422_naming_the_key_and_change_nothing(
        api_as, owner, editor, viewer, stranger, items, workspace, body, key, message):
    from metadata_site.schemas.services import schema_declare_field

    schema_declare_field(workspace=workspace, user=owner, field={"name": "taken", "type": "datetime"})
    for path, payload in ((f"/api/w/acme/items/{items[0].uid}/metadata", body),
                          ("/api/w/acme/items/metadata", {"updates": {str(items[0].uid): body}})):
        resp = api_as(editor).patch(path, payload) if "updates" not in payload else api_as(editor).post(path, payload)
        if resp.status_code == 200:  # the bulk call answers per row
            row = resp.json()["results"][0]
            assert row["status"] == "failed" and row["errors"][0]["key"] == key
            assert message in row["errors"][0]["msg"]
        else:
            body_out = assert_error_shape(resp, 422)
            loc = body_out["errors"][0]["loc"]  # the strict body parser names the whole path to the value
            assert loc[0] == "body" and key in loc and message in body_out["errors"][0]["msg"]
    items[0].refresh_from_db()
    assert items[0].client_metadata == {"weather": "Sunny", "temperature": 31.5}
    assert api_as(viewer).patch(f"/api/w/acme/items/{items[0].uid}/metadata", body).status_code == 403
    assert api_as(stranger).patch(f"/api/w/acme/items/{items[0].uid}/metadata", body).status_code == 404


def test_a_date_without_a_time_is_stored_and_filtered_as_the_whole_day(api_as, editor, items):
    client = api_as(editor)
    a, b, c, _d = items
    for item, value in ((a, "2024-06-30"), (b, "2024-06-30T23:59:59.5Z"), (c, "2024-07-01")):
        resp = client.patch(f"/api/w/acme/items/{item.uid}/metadata", {"captured_at": value})
        assert resp.status_code == 200, resp.content
    assert client.get(f"/api/w/acme/items/{a.uid}/metadata").json()["captured_at"] == "2024-06-30T00:00:00Z"

    def titles(f):
        return sorted(r["title"] for r in client.get(f"/api/w/acme/items?f={f}").json()["results"])

    assert titles("captured_at:eq:2024-06-30") == ["a.jpg", "b.jpg"]
    assert titles("captured_at:between:2024-03-01..2024-06-30") == ["a.jpg", "b.jpg"]
    assert titles("captured_at:lte:2024-06-30") == ["a.jpg", "b.jpg"]
    assert titles("captured_at:gt:2024-06-30") == ["c.jpg"]
    assert titles("captured_at:lt:2024-06-30") == []
    assert titles("captured_at:eq:2024-06-30T00:00:00Z") == ["a.jpg"]

"""The Python client against a live server (a real HTTP socket, the real middleware stack)."""

import json
import subprocess
import sys

import pytest

from metadata_site.accounts.services import api_token_create
from metadata_site.client import ApiError, Client
from metadata_site.items.models import Item
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(live_server, owner, workspace):
    token = api_token_create(user=owner, name="client tests")[1]
    with Client(live_server.url, token) as c:
        yield c


@pytest.fixture
def corpus(workspace):
    make_schema(workspace, [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
        {"name": "temperature", "type": "float"},
    ])
    folder = make_folder(workspace, "raw")
    items = [make_item(folder, f"{i:03d}.jpg", metadata={"weather": "Sunny" if i % 2 else "Rain",
                                                         "temperature": float(i)}) for i in range(25)]
    project = make_project(workspace, "Roads", custom_data={"owner": "a"})
    dataset = make_dataset(project, "Roads v1", items=items[:10])
    return {"folder": folder, "items": items, "project": project, "dataset": dataset}


def test_the_client_module_does_not_import_django():
    code = "import sys; import metadata_site.client; print(any(m.startswith('django') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_it_finds_the_only_workspace(client):
    assert client.workspace == "acme"


def test_custom_data_round_trips_silently(client, corpus):
    project, dataset = corpus["project"], corpus["dataset"]
    assert client.project.get_custom_data(project.pk) == {"owner": "a"}
    before = project.updated_at
    assert client.project.update_custom_data(project.pk, {"owner": "b"}, silent=True) == {"owner": "b"}
    project.refresh_from_db()
    assert project.updated_at == before and project.custom_data == {"owner": "b"}
    client.dataset.update_custom_data(dataset.pk, {"split": "train"})
    assert client.dataset.patch_custom_data(dataset.pk, {"seed": 3}) == {"split": "train", "seed": 3}
    assert client.dataset.get_custom_data(dataset.pk) == {"split": "train", "seed": 3}


def test_a_stale_if_match_raises_412(client, corpus):
    pk = corpus["project"].pk
    _data, etag = client.project.get_custom_data_with_version(pk)
    client.project.update_custom_data(pk, {"v": 1}, if_match=etag)
    with pytest.raises(ApiError) as err:
        client.project.update_custom_data(pk, {"v": 2}, if_match=etag)
    assert err.value.status == 412


def test_items_list_follows_pages_and_filters(client, corpus):
    everything = list(client.items.list(page_size=7))
    assert len(everything) == 25
    hot = list(client.items.list(["weather:eq:Sunny", ("temperature", "gt", 15)], sort="-temperature"))
    assert [i["metadata"]["temperature"] for i in hot] == [23.0, 21.0, 19.0, 17.0]
    scoped = list(client.items.list(None, scope=f"dataset:{corpus['dataset'].pk}", page_size=3))
    assert len(scoped) == 10
    json_form = list(client.items.list({"all": [{"field": "temperature", "op": "between", "value": [1, 3]}]},
                                       page_size=2))
    assert [i["title"] for i in json_form] == ["001.jpg", "002.jpg", "003.jpg"]


def test_bad_filters_raise_with_the_servers_message(client, corpus):
    with pytest.raises(ApiError) as err:
        list(client.items.list(["nope:gt:warm"]))
    assert err.value.status == 400 and "nope" in err.value.detail


def test_update_metadata_batches(client, corpus):
    items = corpus["items"]
    updates = {str(i.uid): {"temperature": 100.0} for i in items[:5]}
    updates[str(items[5].uid)] = {"weather": "Hail"}
    result = client.items.update_metadata(updates, mode="merge", batch_size=2)
    assert (result["changed"], result["failed"]) == (5, 1)
    assert len(result["change_sets"]) == 3
    assert result["failures"][0]["index"] == 5
    assert Item.objects.get(pk=items[0].pk).client_metadata == {"weather": "Rain", "temperature": 100.0}
    same = client.items.update_metadata([str(items[7].uid)], {"weather": "Sunny"}, mode="overwrite")
    assert same["changed"] == 1
    assert Item.objects.get(pk=items[7].pk).client_metadata == {"weather": "Sunny"}


def test_schema_declare_import_and_get(client, workspace, corpus):
    client.schema.declare("camera", "string")
    assert schema_current(workspace=workspace).get("camera") is not None
    diff = client.schema.import_([*client.schema.get()["fields"], {"name": "dark", "type": "boolean"}])
    assert diff["applied"] and diff["added"] == ["dark"]
    assert [f["name"] for f in client.schema.get()["fields"]][-1] == "dark"
    assert len(client.schema.versions()) == 3


def test_imports_upload_waits_for_the_result(client, corpus, tmp_path):
    items = corpus["items"]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"media_id": str(items[0].uid), "metadata": {"temperature": -1.0}},
                                {"media_id": str(items[1].uid), "metadata": {"temperature": "cold"}}]))
    task = client.imports.upload(path, target={"folder": corpus["folder"].pk}, wait=True, progress=False)
    assert task["status"] == "COMPLETED_WITH_ERRORS"
    assert task["sample_errors"][0]["row_index"] == 1
    assert Item.objects.get(pk=items[0].pk).client_metadata["temperature"] == -1.0
    client.imports.undo(task["id"])
    assert Item.objects.get(pk=items[0].pk).client_metadata["temperature"] == 0.0


def test_change_sets_can_be_undone(client, corpus):
    item = corpus["items"][3]
    result = client.items.update_metadata({str(item.uid): {"temperature": 9.5}})
    assert next(iter(client.change_sets.list()))["id"] == result["change_sets"][0]
    client.change_sets.undo(result["change_sets"][0])
    assert Item.objects.get(pk=item.pk).client_metadata["temperature"] == 3.0


def test_a_wrong_token_raises_401(live_server, workspace):
    with Client(live_server.url, "msk_nope_nope", workspace="acme") as c, pytest.raises(ApiError) as err:
        c.schema.get()
    assert err.value.status == 401


def test_collections_and_a_dataset_from_them(client, corpus):
    items = corpus["items"]
    picked = client.collections.create("Picked", items=[i["uid"] for i in client.items.list(["weather:eq:Rain"],
                                                                                            max_items=3)])
    warm = client.collections.create("Warm", filters={"all": [{"field": "temperature", "op": "gte", "value": 20}]})
    assert (picked["item_count"], warm["item_count"]) == (3, 5)
    assert client.collections.add_items(picked["id"], [str(items[1].uid)])["added"] == 1
    dataset = client.dataset.create_from_collections(name="Train", project=corpus["project"].pk,
                                                     collections=[picked["id"], warm["id"]])
    assert dataset["item_count"] == 9 and dataset["status"] == "READY"
    assert [c["title"] for c in client.collections.list()] == ["Picked", "Warm"]


def test_upload_media_sends_files_in_batches_and_returns_a_row_per_path(client, workspace, tmp_path):
    import io

    from PIL import Image

    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(workspace, "uploads")
    paths = []
    for i in range(5):
        buf = io.BytesIO()
        Image.new("RGB", (40 + i, 30), (i * 40, 0, 0)).save(buf, format="PNG")
        path = tmp_path / f"p{i}.png"
        path.write_bytes(buf.getvalue())
        paths.append(path)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    result = client.upload_media(folder.pk, [*paths, bad], metadata={"p1.png": {"weather": "Rain"}}, batch_files=2)
    assert (result["created"], result["updated"], result["failed"]) == (5, 0, 1)
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3, 4, 5]
    assert result["results"][5]["status"] == "failed" and result["results"][5]["code"] == 415
    assert "not an accepted image or video" in result["results"][5]["error"]
    assert Item.objects.get(folder=folder, title="p1.png").client_metadata == {"weather": "Rain"}
    again = client.upload_media(folder.pk, paths[:1])
    assert again["updated"] == 1 and Item.objects.filter(folder=folder).count() == 5


def test_embeddings_declared_written_and_searched_through_the_client(client, workspace, corpus):
    client.schema.declare("clip", "embedding", dimension=3, distance="euclidean")
    assert client.schema.get()["fields"][-1] == {
        "name": "clip", "type": "embedding", "options": [], "is_multi": False, "description": "", "unit": "",
        "dimension": 3, "distance": "euclidean"}
    uids = [str(it.uid) for it in corpus["items"][:4]]
    result = client.items.update_metadata({u: {"clip": [float(n), 0.0, 0.0]} for n, u in enumerate(uids)})
    assert result["changed"] == 4
    bad = client.items.update_metadata({uids[0]: {"clip": [1, 2]}})
    assert bad["failed"] == 1 and bad["failures"][0]["errors"][0]["key"] == "clip"
    assert "clip" not in client.items.get_metadata(uids[0])
    found = client.items.similar(uids[0], by="clip", k=3, filters="weather:eq:Rain")  # items 0 and 2 are Rain
    assert [(r["uid"], r["distance"]) for r in found] == [(uids[0], 0.0), (uids[2], 2.0)]

"""Encord projects and label rows through the Django test client, signed like the SDK: what each call answers,
its filters, bad input (a clear 400 that changes nothing), and owner / member / stranger."""

import json

import pytest

from metadata_site.compat.encord import legacy
from metadata_site.compat.encord.projects import LABELS_READ_ONLY
from metadata_site.items.models import ItemKind
from metadata_site.projects.models import ProjectDataset
from metadata_site.projects.services import project_attach_dataset
from tests.factories import make_dataset, make_folder, make_item, make_project

from .signing import key_hex, legacy_authorization

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(workspace, stranger):
    folder = make_folder(workspace, "fleet")
    a, b = make_item(folder, "a.jpg", metadata={"k": 1}), make_item(folder, "b.png")
    group = make_item(folder, "g", kind=ItemKind.IMAGE_GROUP)
    frames = [make_item(folder, f"g{n}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=n) for n in (1, 0)]
    roads = make_project(workspace, "roads")
    train = make_dataset(roads, "train", items=[a, group])
    extra = make_dataset(make_project(workspace, "cars"), "extra", items=[b])
    project_attach_dataset(project=roads, dataset=extra)
    foreign = make_project(stranger.memberships.get().workspace, "theirs")
    return {"a": a, "b": b, "group": group, "frames": frames, "roads": roads, "train": train, "extra": extra,
            "foreign": foreign}


@pytest.fixture
def rpc(client):
    def _call(key, query_type, method, uid, payload, *, project):
        raw = json.dumps({"query_type": query_type, "query_method": method,
                          "values": {"uid": uid, "payload": payload}}).encode()
        headers = {"ResourceType": "project", "ResourceID": str(project.uid),
                   "Authorization": legacy_authorization(key, raw, key_id=key_hex(key))}
        return client.post("/public", data=raw, content_type="application/json", headers=headers).json()

    return _call


def test_a_project_has_the_sdk_shape_and_an_empty_ontology(v2, keys, world):
    roads = world["roads"]
    body = v2(keys["owner"], "GET", f"projects/{roads.uid}").json()
    assert body["projectHash"] == str(roads.uid) and body["title"] == "roads"
    assert body["ontologyHash"] == str(roads.uid) and body["editorOntology"] == {"objects": [], "classifications": []}
    ontology = v2(keys["viewer"], "GET", f"ontologies/{body['ontologyHash']}").json()
    assert ontology["editor"] == {"objects": [], "classifications": []} and ontology["userRole"] == 1


def test_a_project_lists_every_attached_dataset(v2, keys, world):
    body = v2(keys["viewer"], "GET", f"projects/{world['roads'].uid}/datasets").json()
    assert body == {"results": [{"datasetHash": str(d.uid), "title": d.name, "description": ""}
                                for d in (world["extra"], world["train"])], "nextPageToken": None}


def test_strangers_and_unknown_projects_are_404(v2, rpc, keys, world):
    for path in (f"projects/{world['roads'].uid}", f"projects/{world['roads'].uid}/datasets",
                 f"ontologies/{world['roads'].uid}"):
        assert v2(keys["stranger"], "GET", path).status_code == 404
    for path in (f"projects/{world['foreign'].uid}", "projects/not-a-uuid", f"ontologies/{world['foreign'].uid}"):
        assert v2(keys["owner"], "GET", path).status_code == 404
    answer = rpc(keys["stranger"], "labelrowmetadata", "GET", None, {}, project=world["roads"])
    assert answer["response"] == ["RESOURCE_NOT_FOUND_ERROR"]


def test_label_rows_are_the_data_units_of_the_attached_datasets(rpc, keys, world):
    answer = rpc(keys["viewer"], "labelrowmetadata", "GET", None, {"include_client_metadata": True},
                 project=world["roads"])
    rows = answer["response"]
    assert [(r["dataset_title"], r["data_title"]) for r in rows] == [("extra", "b.png"), ("train", "a.jpg"),
                                                                      ("train", "g")]
    a = rows[1]
    assert a["data_hash"] == a["label_hash"] == a["backing_item_uuid"] == str(world["a"].uid)
    assert a["client_metadata"] == {"k": 1} and a["label_status"] == "NOT_LABELLED"
    assert rows[2]["data_type"] == "IMG_GROUP" and rows[2]["number_of_frames"] == 2


@pytest.mark.parametrize(("payload", "titles"), [
    ({"data_title_eq": "a.jpg"}, ["a.jpg"]),
    ({"data_title_like": "_.%"}, ["b.png", "a.jpg"]),
    ({"data_title_like": "a.jp"}, []),
    ({"data_title_like": "A.JPG"}, ["a.jpg"]),  # ASCII letters fold, on both databases
    ({"data_title_like": "%%b%%"}, ["b.png"]),
    ({"data_title_like": "\\_.png"}, []),  # an escaped _ is a literal underscore
    ({"data_hashes": ["{b}"]}, ["b.png"]),
    ({"label_statuses": ["LABELLED"]}, []),
    ({"label_statuses": ["NOT_LABELLED"]}, ["b.png", "a.jpg", "g"]),
    ({"workflow_graph_node_title_eq": "Annotate"}, []),
    ({"branch_name": "other"}, []),
    ({"edited_after": "2999-01-01T00:00:00"}, []),
])
def test_label_rows_are_filtered_as_the_sdk_asks(rpc, keys, world, payload, titles):
    payload = {k: [v.format(b=world["b"].uid) for v in val] if isinstance(val, list) else val
               for k, val in payload.items()}
    rows = rpc(keys["viewer"], "labelrowmetadata", "GET", None, payload, project=world["roads"])["response"]
    assert [r["data_title"] for r in rows] == titles


@pytest.mark.parametrize("payload", [{"data_hashes": ["nope"]}, {"data_hashes": "x"}, {"edited_before": "soon"},
                                     {"data_title_eq": 3}])
def test_bad_label_row_filters_are_400(rpc, keys, world, payload):
    answer = rpc(keys["viewer"], "labelrowmetadata", "GET", None, payload, project=world["roads"])
    assert answer["status"] == 400 and answer["response"] == ["INVALID_ARGUMENTS_ERROR"]
    assert "label row query is invalid" in answer["payload"]


def test_too_many_label_rows_is_a_400_asking_to_narrow(rpc, keys, world, monkeypatch):
    monkeypatch.setattr(legacy, "MAX_LABEL_ROWS", 2)
    answer = rpc(keys["viewer"], "labelrowmetadata", "GET", None, {}, project=world["roads"])
    assert answer["status"] == 400 and "narrow the list" in answer["payload"]


def test_labels_read_as_empty(rpc, keys, world):
    uids = [str(world["a"].uid), str(world["group"].uid)]
    rows = rpc(keys["viewer"], "labelrow", "GET", uids, {}, project=world["roads"])["response"]
    assert [r["label_hash"] for r in rows] == uids
    assert all(r["object_answers"] == {} and r["classification_answers"] == {} for r in rows)
    frames = sorted(rows[1]["data_units"].values(), key=lambda u: u["data_sequence"])
    assert [u["data_title"] for u in frames] == ["g0.jpg", "g1.jpg"]
    missing = rpc(keys["viewer"], "labelrow", "GET", [str(world["b"].uid), "8ad58157-ca74-4ae4-8f37-a0193430bcac"],
                  {}, project=world["roads"])
    assert missing["response"] == ["RESOURCE_NOT_FOUND_ERROR"]


@pytest.mark.parametrize(("query_type", "method"), [("labelrow", "POST"), ("labelrow", "PUT"),
                                                    ("labelrows", "PUT"), ("labelrowmetadata", "POST")])
def test_every_label_write_is_refused(rpc, keys, world, query_type, method):
    answer = rpc(keys["owner"], query_type, method, [str(world["a"].uid)], {"x": 1}, project=world["roads"])
    assert answer["status"] == 400 and answer["response"] == ["INVALID_ARGUMENTS_ERROR"]
    assert answer["payload"] == LABELS_READ_ONLY.format(what=f"{query_type} {method}")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_v2_project_writes_are_refused_and_unknown_reads_not_found(v2, keys, world, method):
    path = f"projects/{world['roads'].uid}/label-rows/classifications"
    response = v2(keys["owner"], method, path, body={"labelUuids": []})
    assert response.status_code == 400 and "keeps no labels" in response.json()["message"]
    assert v2(keys["owner"], "GET", path).status_code == 404
    assert v2(keys["stranger"], method, path, body={}).status_code == 404


def test_datasets_attach_and_detach_through_the_sdk_calls(rpc, keys, world, workspace):
    signs = make_project(workspace, "signs")
    extra = str(world["extra"].uid)
    assert rpc(keys["editor"], "projectdataset", "POST", None, {"dataset_hashes": [extra]}, project=signs) == {
        "status": 200, "response": True}
    assert ProjectDataset.objects.filter(project=signs, dataset=world["extra"]).exists()
    assert rpc(keys["editor"], "projectdataset", "DELETE", [extra], None, project=signs)["response"] is True
    assert not ProjectDataset.objects.filter(project=signs).exists()


def test_a_member_cannot_attach_and_a_home_project_cannot_be_left(rpc, keys, world, workspace):
    signs = make_project(workspace, "signs")
    extra = str(world["extra"].uid)
    answer = rpc(keys["viewer"], "projectdataset", "POST", None, {"dataset_hashes": [extra]}, project=signs)
    assert answer["response"] == ["AUTHORISATION_ERROR"]
    answer = rpc(keys["editor"], "projectdataset", "DELETE", [str(world["train"].uid)], None, project=world["roads"])
    assert answer["status"] == 400 and "home project" in answer["payload"]
    answer = rpc(keys["editor"], "projectdataset", "POST", None, {"dataset_hashes": ["nope"]}, project=signs)
    assert answer["response"] == ["RESOURCE_NOT_FOUND_ERROR"]
    assert not ProjectDataset.objects.filter(project=signs).exists()

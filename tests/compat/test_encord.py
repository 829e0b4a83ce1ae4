"""The Encord protocol (/v2/public/... and POST /public) through the Django test client, signed like the SDK."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metadata_site.compat.encord.signatures import MAX_SKEW_SECONDS, SIG_REPLAYED
from metadata_site.compat.encord.storage import BAD_JSON, TOO_MANY_ITEMS
from metadata_site.compat.encord.writes import METADATA_NOT_OBJECT, METADATA_REQUIRED, SOURCE
from metadata_site.compat.models import SeenSignature, SshKey
from metadata_site.items.models import ChangeSet, Item, ItemKind
from metadata_site.schemas.models import MetadataSchema
from metadata_site.workspaces.models import Role
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema, make_workspace

from .signing import key_hex, legacy_authorization, new_key, v2_headers

pytestmark = pytest.mark.django_db

V2 = "/v2/public/"


@pytest.fixture
def tree(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
                            {"name": "temperature", "type": "float"}])
    root = make_folder(workspace, "fleet")
    sub = make_folder(workspace, "2024", parent=root)
    items = [make_item(sub, f"img_{i}.jpg", metadata={"weather": "Sunny", "n": i}) for i in (3, 1, 4, 5, 2)]
    group = make_item(sub, "group_a", kind=ItemKind.IMAGE_GROUP)
    frames = [make_item(sub, f"frame_{i}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=i) for i in (1, 0)]
    project = make_project(workspace, "roads")
    dataset = make_dataset(project, "train", items=items[:2])
    return {"root": root, "sub": sub, "items": items, "group": group, "frames": frames, "dataset": dataset}


@pytest.fixture
def foreign(stranger):
    ws = stranger.memberships.get().workspace
    folder = make_folder(ws, "theirs")
    item = make_item(folder, "secret.jpg", metadata={"k": 1})
    dataset = make_dataset(make_project(ws, "p"), "d", items=[item])
    return {"folder": folder, "item": item, "dataset": dataset}


@pytest.fixture
def legacy(client):
    def _call(key, query_type, method, uid, payload, *, dataset=None, sign_key=None):
        raw = json.dumps({"query_type": query_type, "query_method": method,
                          "values": {"uid": uid, "payload": payload}}).encode()
        headers = {"ResourceType": "dataset", "ResourceID": str(dataset.uid) if dataset else "",
                   "Authorization": legacy_authorization(sign_key or key, raw, key_id=key_hex(key))}
        response = client.post("/public", data=raw, content_type="application/json", headers=headers)
        assert response.status_code == 200
        return response.json()

    return _call


ITEM_KEYS = {
    "uuid", "parent", "itemType", "name", "description", "clientMetadata", "owner", "createdAt", "lastEditedAt",
    "backedDataUnitsCount", "storageLocation", "integrationHash", "url", "signedUrl", "fileSize", "mimeType",
    "duration", "fps", "height", "width", "dicomInstanceUid", "dicomStudyUid", "dicomSeriesUid", "frameCount",
    "audioSampleRate", "audioBitDepth", "audioCodec", "audioNumChannels",
}


# --- authentication ---------------------------------------------------------------------------------------------


def test_an_unsigned_request_is_401(client, tree):
    response = client.get(f"{V2}storage/folders/{tree['sub'].uid}")
    assert response.status_code == 401
    assert "not signed" in response.json()["message"]


def test_a_forged_signature_is_401(v2, keys, tree):
    response = v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}", sign_key=new_key())
    assert response.status_code == 401


def test_a_stale_signature_is_401(v2, keys, tree):
    response = v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}", created=int(time.time()) - 600)
    assert response.status_code == 401
    assert "created time" in response.json()["message"]


def test_an_unregistered_key_is_401(v2, tree, db):
    assert v2(new_key(), "GET", f"storage/folders/{tree['sub'].uid}").status_code == 401


def test_a_removed_key_or_inactive_user_is_401(v2, keys, owner, tree):
    owner.is_active = False
    owner.save()
    assert v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}").status_code == 401


def test_a_signature_over_another_path_is_401(v2, keys, tree):
    other = f"{V2}storage/folders/{tree['root'].uid}"

    def swap(headers):
        return v2_headers(keys["owner"], "GET", other)

    assert v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}", tamper=swap).status_code == 401


def test_key_use_is_recorded(v2, keys, tree):
    v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}")
    assert SshKey.objects.get(user__username="owner").last_used_at is not None


# --- folders and items ------------------------------------------------------------------------------------------


def test_a_folder_has_the_sdk_shape(v2, keys, tree):
    body = v2(keys["viewer"], "GET", f"storage/folders/{tree['sub'].uid}").json()
    assert body["uuid"] == str(tree["sub"].uid)
    assert body["parent"] == str(tree["root"].uid)
    assert body["clientMetadata"] is None and body["syncedDatasetHash"] is None
    assert body["userRole"] == "user"
    assert [p["name"] for p in body["pathToRoot"]] == ["2024", "fleet"]


def test_folders_items_and_datasets_of_other_workspaces_are_404(v2, legacy, keys, foreign):
    assert v2(keys["owner"], "GET", f"storage/folders/{foreign['folder'].uid}").status_code == 404
    assert v2(keys["owner"], "GET", f"storage/items/{foreign['item'].uid}").status_code == 404
    assert v2(keys["owner"], "GET", f"storage/folders/{foreign['folder'].uid}/items").status_code == 404
    patch = v2(keys["owner"], "PATCH", f"storage/folders/{foreign['folder'].uid}/items/{foreign['item'].uid}",
               body={"clientMetadata": {}})
    assert patch.status_code == 404
    bulk = v2(keys["owner"], "PATCH", "storage/items/patch-bulk",
              body={"itemPatches": {str(foreign["item"].uid): {"clientMetadata": {}}}})
    assert bulk.status_code == 404
    answer = legacy(keys["owner"], "dataset", "GET", None, {}, dataset=foreign["dataset"])
    assert answer["response"] == ["RESOURCE_NOT_FOUND_ERROR"]
    assert Item.objects.get(pk=foreign["item"].pk).client_metadata == {"k": 1}


def test_malformed_uuids_are_404(v2, keys, tree):
    assert v2(keys["owner"], "GET", "storage/folders/not-a-uuid").status_code == 404
    assert v2(keys["owner"], "GET", "storage/items/123").status_code == 404


def test_an_item_has_every_key_the_sdk_requires_and_metadata_as_a_string(v2, keys, tree):
    item = tree["items"][0]
    body = v2(keys["viewer"], "GET", f"storage/items/{item.uid}", params={"signUrl": "False"}).json()
    assert ITEM_KEYS <= set(body)
    assert body["parent"] == str(tree["sub"].uid)
    assert body["itemType"] == "image"
    assert json.loads(body["clientMetadata"]) == {"weather": "Sunny", "n": 3}
    assert body["backedDataUnitsCount"] == 1


def _page(v2, key, folder, **params):
    base = {"isRecursive": "False", "order": "name", "desc": "False", "pageSize": 2, "signUrls": "False",
            "includeClientMetadata": "True", "clientMetadataAsSignedUrl": "False"}
    return v2(key, "GET", f"storage/folders/{folder.uid}/items", params={**base, **params})


def test_listing_pages_by_name_until_the_token_is_null(v2, keys, tree):
    names, token, pages = [], None, 0
    while True:
        body = _page(v2, keys["viewer"], tree["sub"], **({"pageToken": token} if token else {})).json()
        names += [r["name"] for r in body["results"]]
        pages += 1
        token = body["nextPageToken"]
        if token is None:
            break
    assert names == ["group_a", "img_1.jpg", "img_2.jpg", "img_3.jpg", "img_4.jpg", "img_5.jpg"]
    assert pages == 3


def test_listing_descending_and_filtered(v2, keys, tree):
    body = _page(v2, keys["viewer"], tree["sub"], desc="True", pageSize=3).json()
    assert [r["name"] for r in body["results"]] == ["img_5.jpg", "img_4.jpg", "img_3.jpg"]
    rest = _page(v2, keys["viewer"], tree["sub"], desc="True", pageSize=3, pageToken=body["nextPageToken"]).json()
    assert [r["name"] for r in rest["results"]] == ["img_2.jpg", "img_1.jpg", "group_a"]
    groups = _page(v2, keys["viewer"], tree["sub"], itemTypes=["imageGroup"]).json()
    assert [r["itemType"] for r in groups["results"]] == ["imageGroup"]
    searched = _page(v2, keys["viewer"], tree["sub"], search="img_4").json()
    assert [r["name"] for r in searched["results"]] == ["img_4.jpg"]
    in_dataset = _page(v2, keys["viewer"], tree["sub"], isInDataset="True", pageSize=10).json()
    assert sorted(r["name"] for r in in_dataset["results"]) == ["img_1.jpg", "img_3.jpg"]


def test_listing_recursively_includes_subfolders(v2, keys, tree):
    assert _page(v2, keys["viewer"], tree["root"], pageSize=10).json()["results"] == []
    body = _page(v2, keys["viewer"], tree["root"], isRecursive="True", pageSize=10).json()
    assert len(body["results"]) == 6


def test_listing_without_metadata(v2, keys, tree):
    body = _page(v2, keys["viewer"], tree["sub"], includeClientMetadata="False").json()
    assert all(r["clientMetadata"] == "{}" for r in body["results"])


@pytest.mark.parametrize(
    "params", [{"pageSize": 0}, {"pageSize": 1001}, {"pageSize": "x"}, {"pageToken": "garbage"}, {"order": "size"},
               {"desc": "maybe"}],
)
def test_bad_listing_parameters_are_400(v2, keys, tree, params):
    assert _page(v2, keys["viewer"], tree["sub"], **params).status_code == 400


def test_child_items_are_the_frames_in_order(v2, keys, tree):
    group = tree["group"]
    body = v2(keys["viewer"], "GET", f"storage/folders/{tree['sub'].uid}/items/{group.uid}/child-items",
              params={"signUrls": "False"}).json()
    assert [r["name"] for r in body["results"]] == ["frame_0.jpg", "frame_1.jpg"]
    assert "nextPageToken" not in body


# --- writes -----------------------------------------------------------------------------------------------------


def test_patch_overwrites_client_metadata(v2, keys, tree, login, owner):
    item = tree["items"][0]
    response = v2(keys["editor"], "PATCH", f"storage/folders/{tree['sub'].uid}/items/{item.uid}",
                  body={"clientMetadata": {"weather": "Rain", "temperature": 21.5}})
    assert response.status_code == 200
    assert json.loads(response.json()["clientMetadata"]) == {"weather": "Rain", "temperature": 21.5}
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Rain", "temperature": 21.5}
    page = login(owner).get(reverse("items:item", args=["acme", item.uid]))
    assert b"Rain" in page.content and b"21.5" in page.content


def test_patch_records_a_change_set(v2, keys, tree):
    from metadata_site.items.models import ChangeSet

    item = tree["items"][0]
    v2(keys["editor"], "PATCH", f"storage/folders/{tree['sub'].uid}/items/{item.uid}",
       body={"clientMetadata": {"weather": "Rain"}})
    change_set = ChangeSet.objects.get()
    assert change_set.source == SOURCE
    assert change_set.entries.get().previous == {"weather": "Sunny", "n": 3}


def test_patch_checks_the_parent_folder(v2, keys, tree):
    item = tree["items"][0]
    response = v2(keys["editor"], "PATCH", f"storage/folders/{tree['root'].uid}/items/{item.uid}",
                  body={"clientMetadata": {}})
    assert response.status_code == 404


def test_viewers_cannot_patch(v2, keys, tree):
    item = tree["items"][0]
    response = v2(keys["viewer"], "PATCH", f"storage/folders/{tree['sub'].uid}/items/{item.uid}",
                  body={"clientMetadata": {}})
    assert response.status_code == 403
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Sunny", "n": 3}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"clientMetadata": {"weather": "Snow"}}, "weather"),
        ({"clientMetadata": {"temperature": "hot"}}, "temperature"),
        ({"clientMetadata": {"weather": "Sunny", "note": "a\ud800"}}, "the lone surrogate \\ud800"),
        ({"clientMetadata": {"weather": "Sunny", "deep": {"x\udfff": 1}}}, "the lone surrogate \\udfff"),
        ({"clientMetadata": [1]}, METADATA_NOT_OBJECT),
        ({}, METADATA_REQUIRED),
        ({"clientMetadata": {}, "name": "renamed"}, "'name'"),
        ([], BAD_JSON),
    ],
)
def test_invalid_metadata_is_400_and_changes_nothing(v2, keys, tree, body, message):
    item = tree["items"][0]
    response = v2(keys["editor"], "PATCH", f"storage/folders/{tree['sub'].uid}/items/{item.uid}", body=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Sunny", "n": 3}


def test_bulk_patch_writes_every_item(v2, keys, tree):
    items = tree["items"][:3]
    patches = {str(i.uid): {"clientMetadata": {"weather": "Rain", "i": n}} for n, i in enumerate(items)}
    response = v2(keys["editor"], "PATCH", "storage/items/patch-bulk", body={"itemPatches": patches})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["uuid"] for r in results] == list(patches)
    assert [json.loads(r["clientMetadata"])["i"] for r in results] == [0, 1, 2]
    assert [Item.objects.get(pk=i.pk).client_metadata for i in items] == [
        {"weather": "Rain", "i": n} for n in range(3)
    ]


def test_a_bulk_patch_with_one_bad_item_changes_nothing(v2, keys, tree):
    items = tree["items"][:3]
    patches = {str(i.uid): {"clientMetadata": {"weather": "Rain"}} for i in items}
    patches[str(items[2].uid)] = {"clientMetadata": {"weather": "Snow"}}
    response = v2(keys["editor"], "PATCH", "storage/items/patch-bulk", body={"itemPatches": patches})
    assert response.status_code == 400
    assert "img_4.jpg" in response.json()["message"]
    assert all(Item.objects.get(pk=i.pk).client_metadata["weather"] == "Sunny" for i in items)


def test_a_bulk_patch_of_more_than_1000_items_is_400(v2, keys, tree):
    patches = {f"00000000-0000-4000-8000-{n:012d}": {"clientMetadata": {}} for n in range(1001)}
    response = v2(keys["editor"], "PATCH", "storage/items/patch-bulk", body={"itemPatches": patches})
    assert response.status_code == 400
    assert response.json()["message"] == TOO_MANY_ITEMS


def test_viewers_cannot_bulk_patch(v2, keys, tree):
    patches = {str(tree["items"][0].uid): {"clientMetadata": {}}}
    assert v2(keys["viewer"], "PATCH", "storage/items/patch-bulk", body={"itemPatches": patches}).status_code == 403


def test_bulk_patch_accepts_as_many_items_in_a_constant_number_of_queries(v2, keys, tree, django_assert_max_num_queries):
    folder = tree["sub"]
    many = Item.objects.bulk_create(
        [Item(workspace_id=folder.workspace_id, folder=folder, title=f"bulk_{n:04d}.jpg") for n in range(300)]
    )
    patches = {str(i.uid): {"clientMetadata": {"temperature": float(n)}} for n, i in enumerate(many)}
    with django_assert_max_num_queries(40):
        response = v2(keys["editor"], "PATCH", "storage/items/patch-bulk", body={"itemPatches": patches})
    assert response.status_code == 200
    assert Item.objects.get(pk=many[-1].pk).client_metadata == {"temperature": 299.0}


# --- schema -----------------------------------------------------------------------------------------------------


def test_the_v2_schema_is_null_without_a_schema(v2, keys, workspace):
    response = v2(keys["owner"], "GET", "organisation/client-metadata-schema-v2")
    assert response.status_code == 200 and response.json() is None


def test_a_v2_schema_save_is_a_new_version(v2, keys, tree, workspace):
    current = v2(keys["owner"], "GET", "organisation/client-metadata-schema-v2").json()
    assert current == {"weather": {"ty": "enum", "values": ["Sunny", "Rain"]},
                       "temperature": {"ty": "variant", "hint": "number"}}
    new = {**current, "camera": {"ty": "variant", "hint": "varchar"}}
    del new["temperature"]
    response = v2(keys["owner"], "POST", "organisation/client-metadata-schema-v2", body=new)
    assert response.status_code == 200 and response.json() is None
    row = MetadataSchema.objects.filter(workspace=workspace).order_by("-version").first()
    assert row.version == 2
    assert [(f["name"], f["type"]) for f in row.fields] == [("weather", "enum"), ("camera", "string")]
    assert v2(keys["owner"], "GET", "organisation/client-metadata-schema-v2").json() == new


def test_only_admins_save_the_schema(v2, keys, tree, workspace):
    for user in ("editor", "viewer"):
        response = v2(keys[user], "POST", "organisation/client-metadata-schema-v2", body={})
        assert response.status_code == 403
    assert MetadataSchema.objects.filter(workspace=workspace).count() == 1


def test_an_unsupported_schema_type_is_400(v2, keys, tree, workspace):
    response = v2(keys["owner"], "POST", "organisation/client-metadata-schema-v2",
                  body={"emb": {"ty": "embedding", "size": 512, "api": None}})
    assert response.status_code == 400
    assert "'emb'" in response.json()["message"]
    assert MetadataSchema.objects.filter(workspace=workspace).count() == 1


def test_the_deprecated_flat_schema_reads_and_replaces_the_same_schema(v2, keys, tree, workspace):
    body = v2(keys["owner"], "GET", "organisation/client-metadata-schema").json()
    assert body["metadataSchema"] == {"weather": "enum", "temperature": "number"}
    assert body["organisationId"] == workspace.pk
    assert {"uuid", "createdAt", "updatedAt"} <= set(body)
    response = v2(keys["owner"], "POST", "organisation/client-metadata-schema",
                  body={"weather": "enum", "notes": "long_string"})
    assert response.status_code == 200
    row = MetadataSchema.objects.filter(workspace=workspace).order_by("-version").first()
    assert [(f["name"], f["type"], f["options"]) for f in row.fields] == [
        ("weather", "enum", ["Sunny", "Rain"]), ("notes", "string", []),
    ]


def test_a_key_reaching_several_workspaces_must_be_confined_for_the_schema(v2, keys, owner, tree):
    other = make_workspace("second", members={owner: Role.ADMIN})
    response = v2(keys["owner"], "GET", "organisation/client-metadata-schema-v2")
    assert response.status_code == 400
    assert "several workspaces" in response.json()["message"]
    SshKey.objects.filter(user=owner).update(workspace=other)
    assert v2(keys["owner"], "GET", "organisation/client-metadata-schema-v2").json() is None


def test_a_confined_key_sees_only_its_workspace(v2, keys, owner, tree):
    other = make_workspace("second", members={owner: Role.ADMIN})
    SshKey.objects.filter(user=owner).update(workspace=other)
    assert v2(keys["owner"], "GET", f"storage/folders/{tree['sub'].uid}").status_code == 404


# --- legacy RPC -------------------------------------------------------------------------------------------------


def test_get_dataset_with_client_metadata(legacy, keys, tree):
    payload = {"dataset_access_settings": {"fetch_client_metadata": True, "fetch_rows": True}}
    answer = legacy(keys["viewer"], "dataset", "GET", None, payload, dataset=tree["dataset"])
    assert answer["status"] == 200
    dataset = answer["response"]
    assert dataset["dataset_hash"] == str(tree["dataset"].uid) and dataset["title"] == "train"
    rows = {r["data_title"]: r for r in dataset["data_rows"]}
    assert set(rows) == {"img_3.jpg", "img_1.jpg"}
    assert rows["img_3.jpg"]["client_metadata"] == {"weather": "Sunny", "n": 3}
    assert rows["img_3.jpg"]["data_type"] == "IMAGE"
    assert rows["img_3.jpg"]["storage_location"] == 0


def test_get_dataset_without_client_metadata(legacy, keys, tree):
    payload = {"dataset_access_settings": {"fetch_client_metadata": False, "fetch_rows": True}}
    rows = legacy(keys["viewer"], "dataset", "GET", None, payload, dataset=tree["dataset"])["response"]["data_rows"]
    assert [r["client_metadata"] for r in rows] == [None, None]


def test_saving_a_data_row_overwrites_its_metadata(legacy, keys, tree):
    item = tree["items"][0]
    answer = legacy(keys["editor"], "datarow", "POST", str(item.uid),
                    {"client_metadata": {"weather": "Rain"}}, dataset=tree["dataset"])
    assert answer["status"] == 200
    assert answer["response"]["updated_fields"] == ["client_metadata"]
    assert answer["response"]["data_row"]["client_metadata"] == {"weather": "Rain"}
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Rain"}
    again = legacy(keys["viewer"], "datarow", "GET", str(item.uid),
                   {"additional_data": {"client_metadata": True, "signed_url": False}}, dataset=tree["dataset"])
    assert again["response"]["client_metadata"] == {"weather": "Rain"}


def test_legacy_refusals_use_the_envelope(legacy, keys, tree):
    item, outside = tree["items"][0], tree["items"][4]
    forged = legacy(keys["editor"], "datarow", "POST", str(item.uid), {"client_metadata": {}},
                    dataset=tree["dataset"], sign_key=new_key())
    assert (forged["status"], forged["response"]) == (401, ["AUTHENTICATION_ERROR"])
    viewer = legacy(keys["viewer"], "datarow", "POST", str(item.uid), {"client_metadata": {}},
                    dataset=tree["dataset"])
    assert viewer["response"] == ["AUTHORISATION_ERROR"]
    not_member = legacy(keys["editor"], "datarow", "GET", str(outside.uid), {}, dataset=tree["dataset"])
    assert not_member["response"] == ["RESOURCE_NOT_FOUND_ERROR"]
    invalid = legacy(keys["editor"], "datarow", "POST", str(item.uid), {"client_metadata": {"weather": "Snow"}},
                     dataset=tree["dataset"])
    assert invalid["response"] == ["INVALID_ARGUMENTS_ERROR"] and "weather" in invalid["payload"]
    title = legacy(keys["editor"], "datarow", "POST", str(item.uid), {"data_title": "x"}, dataset=tree["dataset"])
    assert title["response"] == ["INVALID_ARGUMENTS_ERROR"]
    unknown = legacy(keys["editor"], "project", "GET", None, {}, dataset=tree["dataset"])
    assert unknown["response"] == ["INVALID_ARGUMENTS_ERROR"]
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Sunny", "n": 3}


def test_the_legacy_route_refuses_unsigned_requests(client, tree):
    response = client.post("/public", data=b"{}", content_type="application/json")
    assert response.json() == {"status": 401, "response": ["AUTHENTICATION_ERROR"],
                               "payload": response.json()["payload"]}


# --- bearer tokens (EncordUserClient.create_with_bearer_token) --------------------------------------------------


def test_a_metadata_site_api_token_works_as_a_bearer_token(client, editor, tree):
    from metadata_site.accounts.services import api_token_create

    raw = api_token_create(user=editor, name="encord")[1]
    item = tree["items"][0]
    response = client.get(f"{V2}storage/items/{item.uid}", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    body = json.dumps({"query_type": "datarow", "query_method": "POST",
                       "values": {"uid": str(item.uid), "payload": {"client_metadata": {"weather": "Rain"}}}})
    answer = client.post("/public", data=body, content_type="application/json",
                         headers={"Authorization": f"Bearer {raw}", "ResourceType": "dataset",
                                  "ResourceID": str(tree["dataset"].uid)}).json()
    assert answer["status"] == 200
    assert Item.objects.get(pk=item.pk).client_metadata == {"weather": "Rain"}


def test_an_unknown_bearer_token_is_refused(client, tree):
    response = client.get(f"{V2}storage/items/{tree['items'][0].uid}", headers={"Authorization": "Bearer msk_x_y"})
    assert response.status_code == 401
    answer = client.post("/public", data=b"{}", content_type="application/json",
                         headers={"Authorization": "Bearer msk_x_y"}).json()
    assert answer["response"] == ["AUTHENTICATION_ERROR"]


# --- folder listings (list_storage_folders, find_storage_folders, folder.list_subfolders) -------------------------


def test_top_level_folders_are_the_roots_of_the_signers_workspaces(v2, keys, tree, foreign):
    body = v2(keys["viewer"], "GET", "storage/folders", params={"order": "name", "desc": "False",
                                                                 "pageSize": 100}).json()
    assert [f["name"] for f in body["results"]] == ["fleet"]
    assert body["nextPageToken"] is None


def test_folder_search_finds_folders_at_any_depth(v2, keys, tree, foreign):
    body = v2(keys["viewer"], "GET", "storage/search/folders", params={"search": "202"}).json()
    assert [f["uuid"] for f in body["results"]] == [str(tree["sub"].uid)]
    assert v2(keys["viewer"], "GET", "storage/search/folders", params={"search": "theirs"}).json()["results"] == []


def test_subfolders_page_by_name(v2, keys, tree, workspace):
    for name in ("c", "a", "b"):
        make_folder(workspace, name, parent=tree["root"])
    first = v2(keys["viewer"], "GET", f"storage/folders/{tree['root'].uid}/folders", params={"pageSize": 2}).json()
    assert [f["name"] for f in first["results"]] == ["2024", "a"]
    rest = v2(keys["viewer"], "GET", f"storage/folders/{tree['root'].uid}/folders",
              params={"pageSize": 2, "pageToken": first["nextPageToken"]}).json()
    assert [f["name"] for f in rest["results"]] == ["b", "c"]
    assert rest["nextPageToken"] is None


# --- replays ------------------------------------------------------------------------------------------------------


def test_a_replayed_write_is_refused_and_applied_once(v2, keys, tree):
    item = tree["items"][0]
    created = int(time.time())
    path = f"storage/folders/{tree['sub'].uid}/items/{item.uid}"
    body = {"clientMetadata": {"weather": "Rain"}}
    assert v2(keys["editor"], "PATCH", path, body=body, created=created).status_code == 200
    replay = v2(keys["editor"], "PATCH", path, body=body, created=created)
    assert replay.status_code == 401
    assert replay.json()["message"] == SIG_REPLAYED
    assert ChangeSet.objects.filter(workspace=item.workspace).count() == 1
    # A fresh signature (another second) is a new request.
    assert v2(keys["editor"], "PATCH", path, body=body, created=created - 1).status_code == 200


def test_the_replay_cache_is_in_the_database_and_expired_entries_are_pruned(v2, keys, tree):
    SeenSignature.objects.create(digest="0" * 64, expires_at=timezone.now() - timedelta(seconds=1))
    item = tree["items"][0]
    created = int(time.time())
    v2(keys["editor"], "PATCH", f"storage/folders/{tree['sub'].uid}/items/{item.uid}",
       body={"clientMetadata": {"weather": "Rain"}}, created=created)
    seen = SeenSignature.objects.get()
    assert seen.expires_at == datetime.fromtimestamp(created + MAX_SKEW_SECONDS, UTC)


def test_an_identical_read_within_the_same_second_is_answered_twice(v2, keys, tree):
    """The SDK's signatures are deterministic: two identical reads in one second carry one signature."""
    created = int(time.time())
    for _ in range(2):
        assert v2(keys["viewer"], "GET", f"storage/folders/{tree['sub'].uid}", created=created).status_code == 200


def test_the_future_clock_skew_is_configurable(v2, keys, tree, settings):
    path = f"storage/folders/{tree['sub'].uid}"
    assert v2(keys["viewer"], "GET", path, created=int(time.time()) + 100).status_code == 401
    settings.ENCORD_SIGNATURE_MAX_FUTURE_SECONDS = 120
    assert v2(keys["viewer"], "GET", path, created=int(time.time()) + 100).status_code == 200

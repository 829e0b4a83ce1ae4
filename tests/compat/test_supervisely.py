"""The Supervisely protocol (POST /public/api/v3/<method>, x-api-key) through the Django test client."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metadata_site.accounts.services import api_token_create, api_token_revoke
from metadata_site.compat import supervisely as sly
from metadata_site.projects.models import InfoRevision, Project
from metadata_site.projects.services import project_attach_dataset
from tests.factories import make_dataset, make_folder, make_item, make_project

pytestmark = pytest.mark.django_db

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def tree(workspace):
    item = make_item(make_folder(workspace, "fleet"))
    project = make_project(workspace, "roads", custom_data={"owner": "ml-team"})
    dataset = make_dataset(project, "ds0", items=[item])
    past = timezone.now() - timedelta(days=3)
    Project.objects.filter(pk=project.pk).update(updated_at=past)
    dataset.__class__.objects.filter(pk=dataset.pk).update(updated_at=past)
    return {"project": project, "dataset": dataset}


@pytest.fixture
def token():
    def _token(user):
        return api_token_create(user=user, name="sdk")[1]

    return _token


@pytest.fixture
def call(client, token):
    def _call(method, body, *, user=None, raw_token=None, raw_body=None):
        headers = {}
        if raw_token is not None:
            headers["x-api-key"] = raw_token
        elif user is not None:
            headers["x-api-key"] = token(user)
        data = raw_body if raw_body is not None else json.dumps(body)
        return client.post(f"/public/api/v3/{method}", data=data, content_type="application/json", headers=headers)

    return _call


def test_projects_info_returns_the_project_object(call, owner, tree):
    response = call("projects.info", {"id": tree["project"].pk}, user=owner)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == tree["project"].pk
    assert body["name"] == "roads"
    assert body["customData"] == {"owner": "ml-team"}
    assert ISO_MS.match(body["createdAt"]) and ISO_MS.match(body["updatedAt"])
    assert body["datasetsCount"] == 1 and body["itemsCount"] == 1
    assert body["workspaceId"] == tree["project"].workspace_id


def test_datasets_info_returns_the_dataset_object_with_its_project(call, viewer, tree):
    body = call("datasets.info", {"id": tree["dataset"].pk}, user=viewer).json()
    assert body["id"] == tree["dataset"].pk
    assert body["projectId"] == tree["project"].pk
    assert body["customData"] == {}
    assert ISO_MS.match(body["updatedAt"])


def test_a_dataset_in_several_projects_keeps_its_home_project_for_supervisely(call, viewer, tree, workspace):
    other = make_project(workspace, "other")
    project_attach_dataset(project=other, dataset=tree["dataset"])
    body = call("datasets.info", {"id": tree["dataset"].pk}, user=viewer).json()
    assert body["projectId"] == tree["project"].pk
    assert call("projects.info", {"id": other.pk}, user=viewer).json()["datasetsCount"] == 0


def test_edit_info_replaces_custom_data_whole_and_moves_updated_at(call, editor, tree):
    pk = tree["project"].pk
    before = call("projects.info", {"id": pk}, user=editor).json()["updatedAt"]
    response = call("projects.editInfo", {"id": pk, "customData": {"a": {"b": [1, None]}}, "silent": False},
                    user=editor)
    assert response.status_code == 200
    assert response.json()["customData"] == {"a": {"b": [1, None]}}
    assert response.json()["updatedAt"] > before
    project = Project.objects.get(pk=pk)
    assert project.custom_data == {"a": {"b": [1, None]}}
    assert project.updated_by == editor
    assert InfoRevision.objects.filter(project=project, kind="custom_data").count() == 1


def test_a_silent_edit_leaves_updated_at_unchanged(call, editor, tree):
    pk = tree["project"].pk
    before = call("projects.info", {"id": pk}, user=editor).json()["updatedAt"]
    body = call("projects.editInfo", {"id": pk, "customData": {"quiet": True}, "silent": True}, user=editor).json()
    assert body["customData"] == {"quiet": True}
    assert body["updatedAt"] == before


def test_datasets_edit_info_answers_with_the_dataset(call, owner, tree):
    pk = tree["dataset"].pk
    response = call("datasets.editInfo", {"id": pk, "customData": {"split": "train"}}, user=owner)
    assert response.status_code == 200
    assert response.json()["projectId"] == tree["project"].pk
    assert response.json()["customData"] == {"split": "train"}
    cleared = call("datasets.editInfo", {"id": pk, "customData": {}}, user=owner).json()
    assert cleared["customData"] == {}


def test_the_info_tab_shows_what_the_sdk_wrote(call, login, owner, tree):
    call("projects.editInfo", {"id": tree["project"].pk, "customData": {"written_by": "sdk-script"}}, user=owner)
    page = login(owner).get(reverse("projects:project-info", args=["acme", tree["project"].pk]))
    assert b"sdk-script" in page.content


@pytest.mark.parametrize("raw_token", ["", "msk_nope_nope", "not-a-token"])
def test_a_missing_or_unknown_token_is_401(call, tree, raw_token):
    response = call("projects.info", {"id": tree["project"].pk}, raw_token=raw_token)
    assert response.status_code == 401
    assert set(response.json()) == {"error", "details"}
    assert response.json()["details"]["message"] in (sly.NO_TOKEN, sly.BAD_TOKEN)


def test_a_revoked_token_is_401(call, owner, tree):
    token_row, raw = api_token_create(user=owner, name="old")
    api_token_revoke(user=owner, token_id=token_row.pk)
    assert call("projects.info", {"id": tree["project"].pk}, raw_token=raw).status_code == 401


@pytest.mark.parametrize("method", ["projects.info", "datasets.info", "projects.editInfo", "datasets.editInfo"])
def test_unknown_and_foreign_ids_are_404(call, owner, stranger, tree, method):
    body = {"customData": {}}
    assert call(method, {"id": 2_000_000_000, **body}, user=owner).status_code == 404
    key = "project" if method.startswith("projects") else "dataset"
    response = call(method, {"id": tree[key].pk, **body}, user=stranger)
    assert response.status_code == 404
    assert response.json()["error"] == "Not found"


def test_viewers_cannot_edit(call, viewer, tree):
    response = call("projects.editInfo", {"id": tree["project"].pk, "customData": {"x": 1}}, user=viewer)
    assert response.status_code == 403
    assert response.json()["details"]["message"] == sly.READ_ONLY_ROLE
    assert Project.objects.get(pk=tree["project"].pk).custom_data == {"owner": "ml-team"}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"id": "1"}, "must be an integer"),
        ({"id": 1.5}, "must be an integer"),
        ({"id": True}, "must be an integer"),
        ({"id": None}, "must be an integer"),
        ({}, sly.ID_REQUIRED),
    ],
)
def test_a_bad_id_is_400(call, owner, tree, body, message):
    response = call("projects.info", body, user=owner)
    assert response.status_code == 400
    assert message in response.json()["details"]["message"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"customData": [1, 2]}, "must be a JSON object, got an array"),
        ({"customData": None}, "must be a JSON object, got null"),
        ({"customData": "x"}, "must be a JSON object, got a string"),
        ({}, sly.CUSTOM_DATA_REQUIRED),
        ({"customData": {}, "silent": "yes"}, "'silent' must be true or false"),
        ({"customData": {}, "silent": 1}, "'silent' must be true or false"),
        ({"customData": {}, "name": "renamed"}, "'name' cannot be changed"),
        ({"customData": {"bad": "a\u0000b"}}, "NUL"),
        ({"customData": {"bad": {"deep": ["\ud800"]}}}, "unpaired surrogate"),
        ({"customData": {"k\udfff": 1}}, "unpaired surrogate"),
    ],
)
def test_invalid_edits_are_400_and_change_nothing(call, owner, tree, extra, message):
    response = call("projects.editInfo", {"id": tree["project"].pk, **extra}, user=owner)
    assert response.status_code == 400
    assert message in response.json()["details"]["message"]
    assert Project.objects.get(pk=tree["project"].pk).custom_data == {"owner": "ml-team"}


@pytest.mark.parametrize("raw_body", ["{", "[1]", '{"id": NaN}', '"text"'])
def test_a_body_that_is_not_a_json_object_is_400(call, owner, tree, raw_body):
    response = call("projects.info", None, user=owner, raw_body=raw_body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON"


def test_an_oversize_body_is_413(call, owner, tree):
    huge = json.dumps({"id": tree["project"].pk, "customData": {"x": "a" * (sly.MAX_BODY_BYTES + 10)}})
    response = call("projects.editInfo", None, user=owner, raw_body=huge)
    assert response.status_code == 413


def test_unknown_keys_are_tolerated(call, owner, tree):
    response = call("projects.info", {"id": tree["project"].pk, "extraFields": ["x"], "teamId": 5}, user=owner)
    assert response.status_code == 200


def test_instance_version_is_at_least_the_sdk_minimum(call, owner):
    version = call("instance.version", {}, user=owner).json()["version"]
    assert tuple(int(p) for p in version.split(".")) >= (6, 18, 3)


def test_an_unknown_method_is_404_and_get_is_405(call, client, owner):
    assert call("images.list", {}, user=owner).status_code == 404
    assert client.get("/public/api/v3/projects.info").status_code == 405


def test_it_needs_no_csrf_token(owner, tree, token):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/public/api/v3/projects.info", data=json.dumps({"id": tree["project"].pk}),
                           content_type="application/json", headers={"x-api-key": token(owner)})
    assert response.status_code == 200

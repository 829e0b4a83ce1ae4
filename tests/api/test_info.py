import json

import pytest

from metadata_site.api.errors import PRECONDITION_FAILED
from tests.factories import make_dataset, make_project

from .conftest import assert_error_shape


@pytest.fixture
def project(workspace):
    return make_project(workspace, "Roads", custom_data={"owner": "team-a", "split": {"train": 0.8}})


def _put(client, path, data, **headers):
    return client.put(path, data, headers=headers)


@pytest.mark.django_db
def test_put_replaces_custom_data_and_returns_the_new_etag(api_as, editor, project):
    client = api_as(editor)
    resp = client.put(f"/api/w/acme/projects/{project.pk}/custom_data", {"a": 1})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"a": 1}
    assert resp["ETag"] == '"2"'
    assert client.get(f"/api/w/acme/projects/{project.pk}/custom_data").json() == {"a": 1}


@pytest.mark.django_db
def test_put_with_a_stale_if_match_is_412_and_changes_nothing(api_as, editor, project):
    client = api_as(editor)
    etag = client.get(f"/api/w/acme/projects/{project.pk}/custom_data")["ETag"]
    assert client.put(f"/api/w/acme/projects/{project.pk}/custom_data", {"v": 1},
                      headers={"If-Match": etag}).status_code == 200
    resp = client.put(f"/api/w/acme/projects/{project.pk}/custom_data", {"v": 2}, headers={"If-Match": etag})
    body = assert_error_shape(resp, 412)
    assert body["detail"] == PRECONDITION_FAILED
    assert client.get(f"/api/w/acme/projects/{project.pk}/custom_data").json() == {"v": 1}


@pytest.mark.django_db
def test_a_malformed_if_match_is_400(api_as, editor, project):
    resp = api_as(editor).put(f"/api/w/acme/projects/{project.pk}/custom_data", {}, headers={"If-Match": "yesterday"})
    assert assert_error_shape(resp, 400)["errors"][0]["loc"] == ["header", "If-Match"]


@pytest.mark.django_db
def test_patch_merges_and_removes_null_keys(api_as, editor, project):
    resp = api_as(editor).patch(f"/api/w/acme/projects/{project.pk}/custom_data",
                                {"split": {"val": 0.2}, "owner": None, "new": True})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"split": {"train": 0.8, "val": 0.2}, "new": True}


@pytest.mark.django_db
def test_silent_leaves_updated_at_unchanged(api_as, editor, project):
    before = project.updated_at
    client = api_as(editor)
    client.put(f"/api/w/acme/projects/{project.pk}/custom_data?silent=true", {"quiet": 1})
    project.refresh_from_db()
    assert project.updated_at == before
    assert project.custom_data == {"quiet": 1}
    client.put(f"/api/w/acme/projects/{project.pk}/custom_data", {"loud": 1})
    project.refresh_from_db()
    assert project.updated_at > before


@pytest.mark.django_db
def test_duplicate_keys_are_refused_with_their_line(api_as, editor, project):
    resp = api_as(editor).put(f"/api/w/acme/projects/{project.pk}/custom_data", '{"a": 1,\n "a": 2}',
                              content_type="application/json")
    body = assert_error_shape(resp, 400)
    assert "Duplicate key" in body["detail"] and "line 2" in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("payload", ["[1, 2]", "not json", '{"x": NaN}', ""])
def test_bad_custom_data_bodies_are_4xx(api_as, editor, project, payload):
    resp = api_as(editor).put(f"/api/w/acme/projects/{project.pk}/custom_data", payload,
                              content_type="application/json")
    assert 400 <= resp.status_code < 500
    assert_error_shape(resp, resp.status_code)


@pytest.mark.django_db
def test_custom_data_failing_the_project_schema_is_422_with_locations(api_as, editor, workspace):
    project = make_project(workspace, "Strict", custom_data_schema={
        "type": "object", "properties": {"n": {"type": "integer"}}})
    resp = api_as(editor).put(f"/api/w/acme/projects/{project.pk}/custom_data", {"n": "x"})
    body = assert_error_shape(resp, 422)
    assert body["errors"][0]["loc"][:2] == ["body", "n"]


@pytest.mark.django_db
def test_dataset_custom_data_and_readme_round_trip(api_as, editor, project):
    dataset = make_dataset(project, "v1")
    client = api_as(editor)
    assert client.put(f"/api/w/acme/datasets/{dataset.pk}/custom_data", {"k": [1, 2]}).status_code == 200
    assert client.get(f"/api/w/acme/datasets/{dataset.pk}/custom_data").json() == {"k": [1, 2]}
    resp = client.put(f"/api/w/acme/datasets/{dataset.pk}/readme", {"readme": "# Hello"})
    assert resp.status_code == 200
    assert resp.json()["version"] == 2
    assert client.get(f"/api/w/acme/datasets/{dataset.pk}/readme").json()["readme"] == "# Hello"


@pytest.mark.django_db
def test_readme_with_a_stale_if_match_is_412(api_as, editor, project):
    client = api_as(editor)
    client.put(f"/api/w/acme/projects/{project.pk}/readme", {"readme": "one"})
    resp = client.put(f"/api/w/acme/projects/{project.pk}/readme", {"readme": "two"}, headers={"If-Match": '"1"'})
    assert_error_shape(resp, 412)


@pytest.mark.django_db
def test_viewers_cannot_write_custom_data(api_as, viewer, project):
    assert_error_shape(api_as(viewer).put(f"/api/w/acme/projects/{project.pk}/custom_data", {"a": 1}), 403)
    assert_error_shape(api_as(viewer).patch(f"/api/w/acme/projects/{project.pk}/custom_data", {"a": 1}), 403)
    project.refresh_from_db()
    assert "a" not in project.custom_data


@pytest.mark.django_db
def test_the_body_is_sent_raw_not_wrapped(api_as, editor, project):
    resp = api_as(editor).put(f"/api/w/acme/projects/{project.pk}/custom_data",
                              json.dumps({"data": {"x": 1}}), content_type="application/json")
    assert resp.json() == {"data": {"x": 1}}

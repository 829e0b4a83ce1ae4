import pytest
from django.test import Client

from metadata_site.accounts.services import api_token_create, api_token_revoke
from metadata_site.api.auth import CSRF_FAILED
from metadata_site.api.errors import UNAUTHORIZED
from tests.factories import make_project

from .conftest import ApiClient, assert_error_shape


@pytest.mark.django_db
def test_it_accepts_a_bearer_token(api_as, owner, workspace):
    resp = api_as(owner).get("/api/workspaces")
    assert resp.status_code == 200
    assert resp.json()["results"] == [{"slug": "acme", "name": "Acme", "role": "admin"}]


@pytest.mark.django_db
def test_it_answers_401_without_a_token(workspace):
    body = assert_error_shape(ApiClient(None).get("/api/w/acme"), 401)
    assert body["detail"] == UNAUTHORIZED


@pytest.mark.django_db
def test_it_answers_401_for_a_wrong_token(workspace):
    assert_error_shape(ApiClient("msk_deadbeef_nope").get("/api/w/acme"), 401)


@pytest.mark.django_db
def test_it_answers_401_for_a_revoked_token(owner, workspace):
    token, raw = api_token_create(user=owner, name="x")
    api_token_revoke(user=owner, token_id=token.pk)
    assert_error_shape(ApiClient(raw).get("/api/w/acme"), 401)


@pytest.mark.django_db
def test_session_auth_works_for_reads(login, owner, workspace):
    assert login(owner).get("/api/w/acme").status_code == 200


@pytest.mark.django_db
def test_the_openapi_document_and_docs_are_public(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/w/{slug}/items" in schema["paths"] or "/api/w/{slug}/projects" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


@pytest.mark.django_db
def test_it_answers_401_to_a_write_without_a_token(workspace):
    project = make_project(workspace)
    assert_error_shape(ApiClient(None).put(f"/api/w/acme/projects/{project.pk}/custom_data", {"a": 1}), 401)


@pytest.mark.django_db
def test_session_writes_need_the_csrf_token(owner, workspace):
    project = make_project(workspace)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    path = f"/api/w/acme/projects/{project.pk}/custom_data"
    body = assert_error_shape(client.put(path, '{"a": 1}', content_type="application/json"), 403)
    assert body["detail"] == CSRF_FAILED
    client.get("/accounts/settings/")  # sets the CSRF cookie, as the app's pages do
    token = client.cookies["csrftoken"].value
    resp = client.put(path, '{"a": 1}', content_type="application/json", headers={"X-CSRFToken": token})
    assert resp.status_code == 200, resp.content
    project.refresh_from_db()
    assert project.custom_data == {"a": 1}


@pytest.mark.django_db
def test_a_bearer_token_needs_no_csrf_token(owner, workspace, token_for):
    project = make_project(workspace)
    client = Client(enforce_csrf_checks=True)
    resp = client.put(f"/api/w/acme/projects/{project.pk}/custom_data", '{"a": 1}', content_type="application/json",
                      headers={"Authorization": f"Bearer {token_for(owner)}"})
    assert resp.status_code == 200


@pytest.mark.django_db
def test_unknown_api_paths_and_methods_answer_json(api_as, owner, workspace):
    client = api_as(owner)
    assert_error_shape(client.get("/api/nothing/here"), 404)
    resp = client.delete("/api/w/acme/schema")
    assert_error_shape(resp, 405)
    assert "GET" in resp["Allow"]

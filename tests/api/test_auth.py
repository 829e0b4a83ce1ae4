import pytest

from metadata_site.accounts.services import api_token_create, api_token_revoke
from metadata_site.api.errors import UNAUTHORIZED

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

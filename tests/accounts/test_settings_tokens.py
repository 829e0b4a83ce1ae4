import pytest
from django.core.management import CommandError, call_command

from metadata_site.accounts.models import ApiToken
from metadata_site.accounts.services import TOKEN_NAME_REQUIRED, api_token_authenticate, api_token_create


@pytest.mark.django_db
def test_it_lists_tokens_with_name_and_last_use(login, owner):
    api_token_create(user=owner, name="nightly export")
    resp = login(owner).get("/accounts/settings/")
    assert resp.status_code == 200
    assert "nightly export" in resp.text
    assert "never" in resp.text


@pytest.mark.django_db
def test_it_shows_a_new_token_once(login, owner):
    client = login(owner)
    resp = client.post("/accounts/settings/tokens/", {"name": "laptop"})
    assert resp.status_code == 200
    raw = resp.context["new_token"]
    assert raw in resp.text
    assert api_token_authenticate(raw=raw) == owner
    assert raw not in client.get("/accounts/settings/").text


@pytest.mark.django_db
def test_it_refuses_a_token_without_a_name(login, owner):
    resp = login(owner).post("/accounts/settings/tokens/", {"name": ""})
    assert resp.status_code == 400
    assert TOKEN_NAME_REQUIRED in resp.text
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_it_revokes_a_token(login, owner):
    token, raw = api_token_create(user=owner, name="laptop")
    resp = login(owner).post(f"/accounts/settings/tokens/{token.pk}/revoke/")
    assert resp.status_code == 302
    assert api_token_authenticate(raw=raw) is None


@pytest.mark.django_db
def test_it_hides_other_users_tokens(login, owner, stranger):
    token, raw = api_token_create(user=owner, name="owner-secret-name")
    client = login(stranger)
    assert "owner-secret-name" not in client.get("/accounts/settings/").text
    assert client.post(f"/accounts/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert api_token_authenticate(raw=raw) == owner


@pytest.mark.django_db
def test_anonymous_users_cannot_create_tokens(client):
    resp = client.post("/accounts/settings/tokens/", {"name": "x"})
    assert resp.status_code == 302
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_command_prints_a_working_token(owner, capsys):
    call_command("create_api_token", "owner", "--name", "ops")
    raw = capsys.readouterr().out.strip()
    assert api_token_authenticate(raw=raw) == owner
    assert ApiToken.objects.get().name == "ops"


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody")

"""API tokens at rest and in use: only a hash is stored, the comparison is constant-time, and a revoked
token stops working on the very next request."""

import hashlib

import pytest

from metadata_site.accounts import services
from metadata_site.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def _get(client, raw):
    return client.get("/api/w/acme/projects", headers={"Authorization": f"Bearer {raw}"})


def test_only_a_hash_of_the_token_is_stored(owner, workspace):
    token, raw = services.api_token_create(user=owner, name="ci")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in str(row)
    assert raw.split("_", 2)[2] not in str(row)  # nor its secret part
    assert row["secret_hash"] == hashlib.sha256(raw.encode()).hexdigest()


def test_the_hash_is_compared_in_constant_time(owner, workspace, monkeypatch):
    token, raw = services.api_token_create(user=owner, name="ci")
    calls = []
    real = services.hmac.compare_digest
    monkeypatch.setattr(services.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert services.api_token_authenticate(raw=raw) == owner
    assert services.api_token_authenticate(raw=raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert len(calls) == 2


def test_revocation_is_effective_on_the_next_request(client, owner, workspace):
    token, raw = services.api_token_create(user=owner, name="ci")
    assert _get(client, raw).status_code == 200
    services.api_token_revoke(user=owner, token_id=token.pk)
    assert _get(client, raw).status_code == 401


def test_revoking_through_the_settings_page_is_immediate(client, login, owner, workspace):
    token, raw = services.api_token_create(user=owner, name="ci")
    assert _get(client, raw).status_code == 200
    login(owner).post(f"/accounts/settings/tokens/{token.pk}/revoke/")
    client.logout()
    assert _get(client, raw).status_code == 401


def test_tampered_and_unknown_tokens_are_401(client, owner, workspace):
    _token, raw = services.api_token_create(user=owner, name="ci")
    prefix = raw.split("_")[1]
    for bad in (raw + "x", f"msk_{prefix}_guess", "msk_nope_nope", "", "Bearer", raw.upper()):
        assert _get(client, bad).status_code == 401, bad


def test_an_inactive_users_token_stops_working(client, owner, workspace):
    _token, raw = services.api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    assert _get(client, raw).status_code == 401

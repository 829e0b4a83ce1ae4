import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from metadata_site.accounts.models import ApiToken
from metadata_site.accounts.services import (
    TOKEN_NAME_REQUIRED,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)


@pytest.mark.django_db
def test_it_stores_only_a_hash_of_the_token(owner):
    token, raw = api_token_create(user=owner, name="ci")
    assert raw.startswith(f"msk_{token.prefix}_")
    assert len(raw) > 40
    token.refresh_from_db()
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.name, token.prefix, token.secret_hash}


@pytest.mark.django_db
def test_it_authenticates_a_valid_token_and_records_last_use(owner):
    token, raw = api_token_create(user=owner, name="ci")
    assert token.last_used_at is None
    assert api_token_authenticate(raw=raw) == owner
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_it_writes_last_used_at_at_most_once_a_minute(owner, django_assert_num_queries):
    token, raw = api_token_create(user=owner, name="ci")
    api_token_authenticate(raw=raw)
    with django_assert_num_queries(1):
        assert api_token_authenticate(raw=raw) == owner
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    with django_assert_num_queries(2):
        api_token_authenticate(raw=raw)


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", [lambda r: r[:-1] + ("A" if r[-1] != "A" else "B"), lambda r: "", lambda r: "msk_",
                                    lambda r: "Bearer x", lambda r: r.replace("msk_", "xyz_"), lambda r: r + "x"])
def test_it_rejects_wrong_or_malformed_tokens(owner, mangle):
    _token, raw = api_token_create(user=owner, name="ci")
    assert api_token_authenticate(raw=mangle(raw)) is None


@pytest.mark.django_db
def test_it_rejects_a_revoked_token(owner):
    token, raw = api_token_create(user=owner, name="ci")
    api_token_revoke(user=owner, token_id=token.pk)
    assert api_token_authenticate(raw=raw) is None


@pytest.mark.django_db
def test_it_rejects_the_token_of_an_inactive_user(owner):
    _token, raw = api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    assert api_token_authenticate(raw=raw) is None


@pytest.mark.django_db
def test_it_does_not_revoke_another_users_token(owner, viewer):
    token, _raw = api_token_create(user=owner, name="ci")
    with pytest.raises(ApiToken.DoesNotExist):
        api_token_revoke(user=viewer, token_id=token.pk)


@pytest.mark.django_db
def test_it_requires_a_name(owner):
    with pytest.raises(ValueError, match=re.escape(TOKEN_NAME_REQUIRED)):
        api_token_create(user=owner, name="   ")

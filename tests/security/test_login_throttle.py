"""Login rate limit: 5 failures per (username, IP) in 15 minutes → 429 with a clear message, counted in the
database so every web process sees them; the right password does not get through while locked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from metadata_site.accounts import throttle
from metadata_site.accounts.models import LoginFailure

from ..factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
URL = "/accounts/login/"


def _try(client, username, password, ip="10.0.0.1"):
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_username_from_that_address(client):
    make_user("alice")
    for _ in range(5):
        assert _try(client, "alice", "wrong").status_code == 200
    response = _try(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins for this username from your address" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_does_not_check_the_password(client, django_assert_max_num_queries):
    make_user("alice")
    for _ in range(5):
        _try(client, "alice", "wrong")
    count_before = LoginFailure.objects.count()
    assert _try(client, "alice", "wrong").status_code == 429
    assert LoginFailure.objects.count() == count_before  # a locked attempt is neither checked nor counted


def test_other_addresses_and_other_usernames_are_not_locked(client):
    make_user("alice")
    make_user("bob")
    for _ in range(5):
        _try(client, "alice", "wrong")
    assert _try(client, "alice", PASSWORD, ip="10.0.0.2").status_code == 302
    client.logout()
    assert _try(client, "bob", PASSWORD).status_code == 302


def test_usernames_are_counted_case_insensitively(client):
    make_user("alice")
    for name in ("alice", "Alice", "ALICE", "aLice", "alicE"):
        _try(client, name, "wrong")
    assert _try(client, "alice", PASSWORD).status_code == 429


def test_four_failures_then_success_clears_the_count(client):
    make_user("alice")
    for _ in range(4):
        _try(client, "alice", "wrong")
    assert _try(client, "alice", PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username="alice").exists()


def test_the_lock_ends_when_the_failures_leave_the_window(client):
    make_user("alice")
    for _ in range(5):
        _try(client, "alice", "wrong")
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert _try(client, "alice", PASSWORD).status_code == 302


def test_the_message_says_how_long_to_wait():
    assert throttle.locked_message(61) == throttle.LOGIN_RATE_LIMITED.format(minutes=2, s="s")
    assert throttle.locked_message(30) == throttle.LOGIN_RATE_LIMITED.format(minutes=1, s="")


def test_failures_recorded_by_another_process_count(client):
    """The count lives in the database: rows written elsewhere (another gunicorn worker) lock this one."""
    make_user("alice")
    LoginFailure.objects.bulk_create([LoginFailure(username="alice", ip="10.0.0.1") for _ in range(5)])
    assert _try(client, "alice", PASSWORD).status_code == 429

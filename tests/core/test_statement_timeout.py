"""Every web request runs under PostgreSQL's statement_timeout; a cancelled statement is a clear 503, never a
500. A web process's persistent connection keeps the limit from its first request on (no SET and RESET per request);
a new connection (the worker's, a command's) has none, nor does one whose SET a transaction could undo."""

import pytest
from django.db import connection
from django.urls import reverse

from metadata_site.accounts.services import api_token_create
from metadata_site.explorer import selectors
from metadata_site.middleware import QUERY_TOO_SLOW
from tests.api.conftest import ApiClient
from tests.factories import make_folder, make_item, make_schema

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite has no statement timeout"),
    pytest.mark.django_db(transaction=True),
]

TIMEOUT_MS = 300
MESSAGE = QUERY_TOO_SLOW.format(seconds=0.3)


@pytest.fixture
def slow_count(settings, workspace, monkeypatch):
    """The explorer's exact count, made to take 5 s on the server (pg_sleep), under a 300 ms timeout."""
    settings.DATABASE_STATEMENT_TIMEOUT_MS = TIMEOUT_MS
    make_schema(workspace, [{"name": "t", "type": "float"}])
    make_item(make_folder(workspace, "f"), "a.jpg", metadata={"t": 1.0})
    real = selectors._count

    def count(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "_count", count)  # what every exact count runs (the partial's and the API's)


def _session_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def _timeouts_seen_by_count(settings, workspace, monkeypatch) -> list[str]:
    """The session's statement_timeout as the explorer count sees it, one entry per count, under a 1234 ms limit."""
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 1234
    seen = []
    real = selectors._count
    monkeypatch.setattr(selectors, "_count", lambda *a, **kw: seen.append(_session_timeout()) or real(*a, **kw))
    make_schema(workspace, [{"name": "t", "type": "float"}])
    return seen


def test_a_request_runs_under_the_timeout_and_the_connection_keeps_it_for_the_next_requests(settings, login, owner,
                                                                                             workspace, monkeypatch):
    seen = _timeouts_seen_by_count(settings, workspace, monkeypatch)
    client = login(owner)
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    assert seen == ["1234ms"]
    assert _session_timeout() == "1234ms", "kept on the web process's persistent connection"
    with connection.cursor() as cursor:  # not set again by the next request: it is known to be there
        cursor.execute("SET statement_timeout = 777")
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    assert seen == ["1234ms", "777ms"]


def test_a_new_connection_like_the_workers_has_no_timeout_and_gets_it_on_its_first_request(settings, login, owner,
                                                                                          workspace):
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 1234
    client = login(owner)
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    connection.close()
    assert _session_timeout() == "0", "a connection that no request used runs without a limit"
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    assert _session_timeout() == "1234ms"


def test_changing_or_switching_off_the_timeout_resets_the_connection(settings, login, owner, workspace):
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 1234
    client = login(owner)
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 4321
    assert _session_timeout() == "0"
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    assert _session_timeout() == "4321ms"
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 0
    assert _session_timeout() == "0"
    assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
    assert _session_timeout() == "0"


@pytest.mark.django_db(transaction=False)
def test_a_timeout_set_inside_a_transaction_is_for_that_request_only(settings, login, owner, workspace, monkeypatch):
    """A rollback would undo a SET made in a transaction: such a request resets it, and the next one sets it again."""
    seen = _timeouts_seen_by_count(settings, workspace, monkeypatch)
    client = login(owner)
    for _ in range(2):
        assert client.get(reverse("explorer:count", args=["acme"])).status_code == 200
        assert _session_timeout() == "0"
    assert seen == ["1234ms", "1234ms"]


def test_a_cancelled_page_query_is_a_503_page_with_the_message(slow_count, login, owner, viewer, stranger):
    for user in (owner, viewer):
        response = login(user).get(reverse("explorer:count", args=["acme"]))
        assert response.status_code == 503
        assert "<html" in response.content.decode() and MESSAGE in response.content.decode()
    assert login(stranger).get(reverse("explorer:count", args=["acme"])).status_code == 404


def test_a_cancelled_htmx_partial_renders_the_message_in_place(slow_count, login, owner):
    response = login(owner).get(reverse("explorer:count", args=["acme"]), headers={"HX-Request": "true"})
    assert response.status_code == 503
    body = response.content.decode()
    assert "<html" not in body and MESSAGE in body and 'class="error query-too-slow"' in body


def test_a_cancelled_api_query_is_a_json_503_and_the_next_request_works(slow_count, viewer, monkeypatch):
    client = ApiClient(api_token_create(user=viewer, name="t")[1])
    response = client.get("/api/w/acme/items", {"f": "t:gt:0"})
    assert response.status_code == 503
    assert response.json() == {"detail": MESSAGE, "errors": []}
    monkeypatch.undo()
    response = client.get("/api/w/acme/items", {"f": "t:gt:0"})
    assert response.status_code == 200 and response.json()["count"] == 1

"""The replica router's rules that need no replica: what counts as a write, when a request stays on the primary, and
the pin cookie. Reads reaching a real replica, lag, fallback and read-your-writes: tests/replicas/."""

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from metadata_site.db_router import (
    PIN_COOKIE,
    PIN_SALT,
    ReplicaRouter,
    RequestRouting,
    _routing,
    is_write,
    pinned_by_cookie,
)
from metadata_site.items.models import Item


@pytest.mark.parametrize("sql", [
    "SELECT 1", "  select * from items_item", "/* explain */ SELECT 1", "(SELECT 1) UNION (SELECT 2)",
    "SAVEPOINT s1", "RELEASE SAVEPOINT s1", "SHOW jit", "SET LOCAL work_mem = '64MB'",
    "WITH r AS (SELECT 1) SELECT * FROM r",
])
def test_reads_and_session_statements_are_not_writes(sql):
    assert not is_write(sql)


@pytest.mark.parametrize("sql", [
    "INSERT INTO t VALUES (1)", "update items_item set title = 'x'", "DELETE FROM t", "COPY t FROM STDIN",
    "WITH moved AS (UPDATE t SET a = 1 RETURNING id) SELECT count(*) FROM moved", "CREATE INDEX i ON t (a)",
    "VACUUM (ANALYZE) items_item", "-- a comment\nINSERT INTO t VALUES (1)",
])
def test_anything_else_is_a_write(sql):
    assert is_write(sql)


@pytest.fixture
def routing():
    def open_request(*, pinned: bool = False) -> RequestRouting:
        state = RequestRouting(pinned=pinned, replica="replica_0")  # as if replica_0 had been chosen
        token = _routing.set(state)
        tokens.append(token)
        return state

    tokens = []
    yield open_request
    for token in reversed(tokens):
        _routing.reset(token)


def test_outside_a_web_request_reads_use_the_primary():
    """The worker, management commands and shells never open a routing state."""
    assert _routing.get() is None
    assert ReplicaRouter().db_for_read(Item) == "default"


def test_a_request_reads_from_its_replica_until_it_writes(routing):
    router = ReplicaRouter()
    state = routing()
    assert router.db_for_read(Item) == "replica_0"
    assert router.db_for_write(Item) == "default"
    assert state.wrote and router.db_for_read(Item) == "default", "after a write, its reads see it"


@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_transaction_uses_the_primary(routing):
    routing()
    assert ReplicaRouter().db_for_read(Item) == "replica_0"
    with transaction.atomic():
        assert ReplicaRouter().db_for_read(Item) == "default"


def test_a_pinned_request_reads_from_the_primary(routing):
    routing(pinned=True)
    assert ReplicaRouter().db_for_read(Item) == "default"


def test_replicas_are_never_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate("replica_0", "items") is False
    assert router.allow_migrate("default", "items") is None


def _with_cookie(value: str):
    request = RequestFactory().get("/")
    request.COOKIES[PIN_COOKIE] = value
    return request


def test_the_pin_cookie_must_be_signed_and_fresh(settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 10
    response = HttpResponse()
    response.set_signed_cookie(PIN_COOKIE, "x", salt=PIN_SALT)
    signed = response.cookies[PIN_COOKIE].value
    assert pinned_by_cookie(_with_cookie(signed))
    assert not pinned_by_cookie(_with_cookie("x:forged:signature"))
    assert not pinned_by_cookie(RequestFactory().get("/"))
    settings.DATABASE_REPLICA_PIN_SECONDS = -1  # as if its seconds were over
    assert not pinned_by_cookie(_with_cookie(signed))

"""An import gives the cores back to people exploring: after each batch it pauses a share of the batch's time while
other sessions run statements on the database (PostgreSQL), and never when nobody else is at work."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from metadata_site.imports import services
from tests.factories import make_folder

from .helpers import run_import

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="pg_stat_activity is PostgreSQL's"),
]


def _other_session_runs(seconds: float) -> threading.Thread:
    """Another session of this database running one statement for `seconds` (a reader's facet pass, say)."""
    params = connection.get_connection_params()
    started = threading.Event()

    def run():
        with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
            started.set()
            other.execute("SELECT pg_sleep(%s)", [seconds])

    thread = threading.Thread(target=run)
    thread.start()
    started.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND state = 'active' AND query LIKE 'SELECT pg_sleep%%'")
            if cursor.fetchone()[0]:
                break
        time.sleep(0.02)
    return thread


def test_after_a_batch_it_pauses_its_share_of_the_batch_s_time_while_another_session_is_at_work(settings):
    settings.IMPORT_YIELD_TO_READERS = 0.5
    other = _other_session_runs(2)
    started = time.monotonic()
    assert services._yield_to_readers(0.2) == pytest.approx(0.1)
    assert time.monotonic() - started >= 0.1
    other.join()


def test_the_pause_is_bounded(settings):
    settings.IMPORT_YIELD_TO_READERS = 100
    other = _other_session_runs(3)
    assert services._yield_to_readers(1.0) == services.YIELD_MAX_SECONDS
    other.join()


def test_with_nobody_else_at_work_it_never_pauses(settings):
    settings.IMPORT_YIELD_TO_READERS = 0.5
    assert services._yield_to_readers(0.2) == 0


def test_a_share_of_zero_turns_the_pauses_off(settings):
    settings.IMPORT_YIELD_TO_READERS = 0
    other = _other_session_runs(1)
    assert services._yield_to_readers(0.2) == 0
    other.join()


def test_an_import_beside_a_busy_session_pauses_after_each_batch_and_applies_every_row(
    settings, workspace, owner, monkeypatch
):
    settings.IMPORT_YIELD_TO_READERS = 0.01
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    pauses = []
    real = services._yield_to_readers
    monkeypatch.setattr(services, "_yield_to_readers", lambda spent: pauses.append(real(spent)) or pauses[-1])
    folder = make_folder(workspace, "incoming")
    spec = {"images": [{"objectUrl": f"https://cdn.example.com/{n}.jpg"} for n in range(6)]}
    other = _other_session_runs(5)
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    other.join()
    assert (task.status, task.inserted_rows) == ("COMPLETED", 6)
    assert len(pauses) == 3 and all(p > 0 for p in pauses)

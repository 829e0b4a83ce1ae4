"""Planner statistics and visibility after bulk writes (`lib.maintenance`), on both databases."""

import time

import pytest
from django.db import connection

from metadata_site.items.models import ChangeSetEntry, Item
from metadata_site.lib.maintenance import analyze_if_stale, is_stale, stale_tables, vacuum_analyze

from ..factories import make_folder, make_workspace


@pytest.mark.parametrize(
    ("reltuples", "modified", "stale"),
    [
        (-1, 0, True),  # never analysed
        (1_000_000, 0, False),
        (1_000_000, 100_000, False),  # exactly the fraction
        (1_000_000, 100_001, True),
        (10, 100, False),  # a small table counts as MIN_ROWS rows
        (10, 101, True),
    ],
)
def test_statistics_are_stale_when_missing_or_when_a_tenth_of_the_rows_changed(reltuples, modified, stale):
    assert is_stale(reltuples, modified) is stale


@pytest.mark.django_db
def test_nothing_is_done_on_sqlite():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite")
    assert stale_tables(Item) == []
    assert analyze_if_stale(Item) == []
    assert vacuum_analyze(Item, ChangeSetEntry) == []


def _items(count: int) -> None:
    folder = make_folder(make_workspace())
    Item.objects.bulk_create(
        [Item(workspace=folder.workspace, folder=folder, title=f"img_{n}.jpg", media_url="") for n in range(count)]
    )


def _reltuples() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'items_item'::regclass")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_table_that_changed_a_lot_is_analysed_and_then_counts_as_fresh():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL statistics")
    _items(2_000)
    # The writing backend reports its counts at most once a second; ask for them now and wait for them.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    deadline = time.monotonic() + 10
    while "items_item" not in stale_tables(Item) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stale_tables(Item) == ["items_item"]
    assert analyze_if_stale(Item) == ["items_item"]
    assert _reltuples() == 2_000
    assert stale_tables(Item) == []
    assert analyze_if_stale(Item) == []


@pytest.mark.django_db(transaction=True)
def test_vacuum_analyze_outside_a_transaction_makes_every_page_all_visible():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL visibility map")
    _items(3_000)
    assert vacuum_analyze(Item, ChangeSetEntry) == ["items_item", "items_changesetentry"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = 'items_item'::regclass")
        pages, visible = cursor.fetchone()
    assert pages > 0 and visible == pages
    assert _reltuples() == 3_000


@pytest.mark.django_db
def test_inside_a_transaction_vacuum_analyze_only_analyses():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL statistics")
    _items(500)
    assert connection.in_atomic_block
    assert vacuum_analyze(Item) == ["items_item"]
    assert _reltuples() == 500


@pytest.mark.django_db(transaction=True)
def test_a_stale_table_whose_lock_is_held_keeps_its_statistics_instead_of_waiting(monkeypatch):
    """An index build (CREATE INDEX CONCURRENTLY) holds the table's SHARE UPDATE EXCLUSIVE lock for minutes and
    waits for the transaction of an ANALYZE that waits for it: PostgreSQL failed the import's ANALYZE as a
    deadlock. The ANALYZE now gives up after a short lock timeout."""
    import psycopg

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL locks")
    import metadata_site.lib.maintenance as maintenance

    monkeypatch.setattr(maintenance, "stale_tables", lambda *tables, fraction=0.1: ["items_item"])
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname=settings["NAME"]) as other:
        other.execute("LOCK TABLE items_item IN SHARE UPDATE EXCLUSIVE MODE")  # as an index build holds it
        started = time.monotonic()
        assert analyze_if_stale(Item) == []
        assert time.monotonic() - started < 5
    assert analyze_if_stale(Item) == ["items_item"]  # the lock free again

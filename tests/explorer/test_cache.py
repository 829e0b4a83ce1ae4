"""Counts and facets kept across requests (`explorer.cache`): served again while nothing was written, patched with the
change log's rows after a write (exactly the figure computed afresh), and computed again after a rebuild, a bulk
statement or a pruned log. The figures are kept only outside a caller's transaction, so these tests commit (a
transactional database)."""

import random
import threading

import pytest
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from metadata_site.explorer import counts, facets, projection, selectors
from metadata_site.explorer import query as fl
from metadata_site.explorer.cache import cacheable
from metadata_site.items.models import Item
from tests.explorer.helpers import TYPED_METADATA, make_built_projection
from tests.factories import make_folder, make_item

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the typed projection is PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def empty_cache():
    caches["explorer"].clear()


def _query(schema, *conditions: str) -> fl.Query:
    from django.http import QueryDict

    qd = QueryDict(mutable=True)
    for c in conditions:
        key, _, c = c.rpartition("=") if c.startswith("any=") else ("f", "", c)
        qd.appendlist(key, c)
    return fl.parse_query_string(qd, schema=schema)


def _projection_counts(captured) -> int:
    return sum(1 for q in captured.captured_queries if "SELECT count(*) FROM msx_" in q["sql"])


def _facet_passes(captured) -> int:
    return sum(1 for q in captured.captured_queries if "json_build_array" in q["sql"])


def _fresh(query, *, schema, workspace):
    """The count and facets by their plain definitions (one query per field, nothing kept)."""
    return (selectors.explorer_items(query, schema=schema, workspace=workspace).count(),
            facets.facets_per_field(query, schema=schema, workspace=workspace))


def test_the_same_count_is_read_from_the_projection_once_while_nothing_is_written(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    with CaptureQueriesContext(connection) as captured:
        assert selectors.count(query, schema=schema, workspace=workspace) == 2
        assert selectors.count(query, schema=schema, workspace=workspace) == 2
    assert _projection_counts(captured) == 1


def test_a_write_moves_the_version_and_the_kept_count_is_patched_from_the_log_without_counting_again(
        workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    before = counts.version(workspace.pk)
    assert selectors.count(query, schema=schema, workspace=workspace) == 2
    Item.objects.filter(pk=items[1].pk).update(client_metadata={**items[1].client_metadata, "temperature": 40.0})
    assert counts.version(workspace.pk) == before + 1
    with CaptureQueriesContext(connection) as captured:
        assert selectors.count(query, schema=schema, workspace=workspace) == 3
    assert _projection_counts(captured) == 0
    Item.objects.filter(pk=items[0].pk).delete()
    make_item(folder, metadata={"temperature": 99})
    assert selectors.count(query, schema=schema, workspace=workspace) == 3


def test_a_change_within_one_fine_bin_still_moves_the_version(workspace, schema, folder):
    """The count store's deltas cancel out for a value that stays in its fine bin; the version does not."""
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:35.0")
    assert selectors.count(query, schema=schema, workspace=workspace) == 0
    Item.objects.filter(pk=items[0].pk).update(client_metadata={**items[0].client_metadata, "temperature": 35.0000001})
    assert selectors.count(query, schema=schema, workspace=workspace) == 1


def test_a_rolled_back_write_leaves_the_version_and_the_kept_count(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    before = counts.version(workspace.pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 99.0})
        raise RuntimeError
    assert counts.version(workspace.pk) == before


def test_facets_are_kept_and_patched_after_a_write_without_a_facet_pass(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:0")
    first = facets.facets(query, schema=schema, workspace=workspace)
    assert facets.facets(query, schema=schema, workspace=workspace) == first
    # (within the histograms' ranges: a new lowest or highest value moves every bucket, and the facets are computed)
    Item.objects.filter(pk=items[2].pk).update(client_metadata={**items[2].client_metadata, "weather": "50% fog"})
    with CaptureQueriesContext(connection) as captured:
        after = facets.facets(query, schema=schema, workspace=workspace)
    assert _facet_passes(captured) == 0
    assert after == facets.facets_per_field(query, schema=schema, workspace=workspace)
    weather = next(f for f in after if f.spec.name == "weather")
    assert next(o.count for o in weather.options if o.value == "50% fog") == 1


QUERIES = [(), ("temperature:gt:0",), ("weather:eq:Sunny",), ("weather:eq:Sunny", "temperature:gt:0"),
           ("colors:has_any:red", "dark:eq:false"), ("camera:contains:cam",), ("count:between:1..2", "weather:ne:Rain"),
           ("any=weather:eq:Rain", "any=dark:eq:true", "captured_at:gt:2024-06-01T00:00:00Z")]


def _assert_computed_again_and_exact(query, *, schema, workspace) -> None:
    with CaptureQueriesContext(connection) as captured:
        after = facets.facets(query, schema=schema, workspace=workspace)
    assert _facet_passes(captured) == 1
    assert after == facets.facets_per_field(query, schema=schema, workspace=workspace)


def _log_rows(workspace, where: str = "true") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {counts.delta_name(workspace.pk)} WHERE {where}")
        return cursor.fetchone()[0]


def _random_document(rng: random.Random) -> dict:
    document = dict(rng.choice(TYPED_METADATA))
    document["temperature"] = rng.choice([-5, 0.5, 20, 31, 36.5, "hot", None])
    document["weather"] = rng.choice(["Sunny", "Rain", "50% fog", "Snow"])
    document["colors"] = rng.sample(["red", "blue", "o'range"], rng.randint(0, 2))
    return {k: v for k, v in document.items() if v is not None}


def test_every_kept_count_and_facet_equals_its_definition_after_each_of_many_random_writes(workspace, schema, folder):
    """Edits, new items, deletions and multi-row updates, each followed by every query's kept (patched) figures."""
    rng = random.Random(23)
    # Two items that keep every histogram's range (a new lowest or highest value moves every bucket: computed again)
    anchors = {make_item(folder, metadata={"temperature": t, "count": c, "captured_at": at}).pk
               for t, c, at in ((-50, 0, "2020-01-01T00:00:00Z"), (100, 10, "2026-01-01T00:00:00Z"))}
    make_built_projection(workspace, schema, folder)
    queries = [_query(schema, *q) for q in QUERIES]
    passes = 0
    for step in range(12):
        ids = list(Item.objects.filter(workspace=workspace).exclude(pk__in=anchors).values_list("pk", flat=True))
        action = rng.choice(["edit", "edit", "create", "delete", "many"])
        if action == "edit" or (action == "delete" and len(ids) < 3):
            Item.objects.filter(pk=rng.choice(ids)).update(client_metadata=_random_document(rng))
        elif action == "create":
            make_item(folder, metadata=_random_document(rng))
        elif action == "delete":
            Item.objects.filter(pk=rng.choice(ids)).delete()
        else:
            with transaction.atomic():
                for pk in rng.sample(ids, min(3, len(ids))):
                    Item.objects.filter(pk=pk).update(client_metadata=_random_document(rng))
        for query in queries:
            with CaptureQueriesContext(connection) as captured:
                kept = (selectors.count(query, schema=schema, workspace=workspace),
                        facets.facets(query, schema=schema, workspace=workspace))
            passes += _facet_passes(captured)
            assert kept == _fresh(query, schema=schema, workspace=workspace), (step, action, query)
    assert passes == len(queries) - 1  # each filtered query's first facets; after that, every figure was patched


def test_a_write_committed_while_a_figure_was_computed_is_added_by_the_next_patch(workspace, schema, folder):
    """A writer in progress when the figure's snapshot was taken commits later: the next reader sees its rows."""
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "weather:eq:Sunny", "temperature:gt:0")
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                Item.objects.filter(pk=items[2].pk).update(client_metadata={"weather": "Sunny", "temperature": 1})
                started.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(10)
    before = facets.facets(query, schema=schema, workspace=workspace)  # the writer's xid is in this snapshot's xip
    assert selectors.count(query, schema=schema, workspace=workspace) == 2
    release.set()
    thread.join(10)
    assert done.is_set()
    with CaptureQueriesContext(connection) as captured:
        after = (selectors.count(query, schema=schema, workspace=workspace),
                 facets.facets(query, schema=schema, workspace=workspace))
    assert _facet_passes(captured) == 0 and _projection_counts(captured) == 0
    assert after == _fresh(query, schema=schema, workspace=workspace) and after[0] == 3
    assert after[1] != before


def test_a_bulk_statement_logs_an_overflow_row_and_the_figure_is_computed_again(workspace, schema, folder, monkeypatch):
    monkeypatch.setattr(counts, "LOG_ROWS_MAX", 2)  # baked into the trigger at build
    make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:-100")
    facets.facets(query, schema=schema, workspace=workspace)
    Item.objects.filter(workspace=workspace).update(client_metadata={"temperature": 3, "weather": "Rain"})
    _assert_computed_again_and_exact(query, schema=schema, workspace=workspace)
    assert _log_rows(workspace, "sign = 0") >= 1


def test_a_figure_older_than_the_pruned_log_is_computed_again_and_the_log_stays_small(
        workspace, schema, folder, monkeypatch):
    monkeypatch.setattr(counts, "LOG_PRUNE_SECONDS", 0)  # every write prunes what the previous pruning's snapshot saw
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:0")
    facets.facets(query, schema=schema, workspace=workspace)
    for n in range(4):
        Item.objects.filter(pk=items[0].pk).update(client_metadata={"temperature": 10 + n})
    _assert_computed_again_and_exact(query, schema=schema, workspace=workspace)
    assert _log_rows(workspace) <= 4  # the last two statements' rows at most


def test_nothing_is_kept_from_inside_a_callers_transaction(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    with transaction.atomic():
        Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 50.0})
        assert selectors.count(query, schema=schema, workspace=workspace) == 3
        transaction.set_rollback(True)
    assert selectors.count(query, schema=schema, workspace=workspace) == 2


def test_a_rebuilt_projection_does_not_serve_the_figures_of_the_one_before(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    first = counts.version(workspace.pk)
    query = _query(schema, "temperature:gt:30")
    assert selectors.count(query, schema=schema, workspace=workspace) == 2
    projection.suspend(workspace_id=workspace.pk)  # as a bulk import does: writes go on unprojected
    Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 50.0})
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    assert counts.version(workspace.pk) == first  # the new store counts from the start again
    assert selectors.count(query, schema=schema, workspace=workspace) == 3


def test_a_folder_scope_or_a_built_in_condition_is_never_kept(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    other = make_folder(workspace, "other")
    scoped = fl.Query(all=_query(schema, "temperature:gt:30").all, scope=fl.Scope("folder", other.pk))
    assert not cacheable(scoped)
    assert not cacheable(_query(schema, "temperature:gt:30", "kind:eq:image"))
    assert cacheable(_query(schema, "temperature:gt:30"))
    assert selectors.count(scoped, schema=schema, workspace=workspace) == 0
    Item.objects.filter(pk=items[0].pk).update(folder=other)  # no metadata written: the version stays
    assert selectors.count(scoped, schema=schema, workspace=workspace) == 1


def test_the_facet_pass_keeps_the_count_of_its_result_so_the_count_is_not_read_again(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    query = _query(schema, "weather:eq:Sunny", "temperature:gt:0")
    facets.facets(query, schema=schema, workspace=workspace)
    with CaptureQueriesContext(connection) as captured:
        assert selectors.count(query, schema=schema, workspace=workspace) == 2
    assert _projection_counts(captured) == 0


def test_a_kept_count_is_shown_exactly_at_once_where_an_estimate_would_come_first(
        client, owner, workspace, schema, folder, monkeypatch):
    from django.urls import reverse

    items = make_built_projection(workspace, schema, folder)
    monkeypatch.setattr(selectors, "ESTIMATE_ABOVE", 0)  # every filtered count looks slow
    client.force_login(owner)
    url = reverse("explorer:count", args=[workspace.slug])
    first = client.get(url, {"f": "temperature:gt:30"}).content.decode()
    assert "data-estimate=" in first and "data-total" not in first
    assert 'data-total="2"' in client.get(url, {"f": "temperature:gt:30", "exact": "1"}).content.decode()
    Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 50.0})
    again = client.get(url, {"f": "temperature:gt:30"}).content.decode()  # kept, patched with the write
    assert 'data-total="3"' in again and "data-estimate" not in again


def test_threads_asking_for_the_same_figure_at_once_compute_it_once(workspace, schema, folder, monkeypatch):
    import time

    make_built_projection(workspace, schema, folder)
    query = _query(schema, "weather:eq:Sunny", "temperature:gt:0")
    computed, slow = [], facets._facets

    def slow_facets(*args, **kwargs):
        computed.append(1)
        time.sleep(0.5)  # long enough for every thread to be waiting meanwhile
        return slow(*args, **kwargs)

    monkeypatch.setattr(facets, "_facets", slow_facets)
    results = []

    def ask():
        try:
            results.append(facets.facets(query, schema=schema, workspace=workspace))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(computed) == 1
    assert len(results) == 3 and all(r == results[0] for r in results)
    assert results[0] == facets.facets_per_field(query, schema=schema, workspace=workspace)


def test_a_figure_computed_by_another_process_of_the_machine_is_served_here_without_computing_it(
        workspace, schema, folder, settings):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    make_built_projection(workspace, schema, folder)
    conditions = ["weather:eq:Sunny", "temperature:gt:0"]
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "0", "EXPLORER_CACHE_DIR": str(settings.EXPLORER_CACHE_DIR),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    script = (
        "from django.http import QueryDict\n"
        "from metadata_site.explorer import facets, query as fl\n"
        "from metadata_site.schemas.selectors import schema_current\n"
        "from metadata_site.workspaces.models import Workspace\n"
        f"w = Workspace.objects.get(pk={workspace.pk}); s = schema_current(workspace=w)\n"
        f"qd = QueryDict(mutable=True); qd.setlist('f', {conditions!r})\n"
        "print(len(facets.facets(fl.parse_query_string(qd, schema=s), schema=s, workspace=w)))\n"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    query = _query(schema, *conditions)
    with CaptureQueriesContext(connection) as captured:
        here = facets.facets(query, schema=schema, workspace=workspace)
        total = selectors.count(query, schema=schema, workspace=workspace)
    assert _facet_passes(captured) == 0 and _projection_counts(captured) == 0
    assert (total, here) == _fresh(query, schema=schema, workspace=workspace)


def test_figures_are_exact_when_the_cache_directory_cannot_be_written_or_holds_a_damaged_file(
        workspace, schema, folder, settings, tmp_path):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    settings.EXPLORER_CACHE_DIR = blocked / "explorer-cache"
    settings.CACHES = {**settings.CACHES, "explorer": {**settings.CACHES["explorer"], "LOCATION": str(blocked / "x")}}
    assert selectors.count(query, schema=schema, workspace=workspace) == 2
    Item.objects.filter(pk=items[1].pk).update(client_metadata={**items[1].client_metadata, "temperature": 40.0})
    assert selectors.count(query, schema=schema, workspace=workspace) == 3
    # A damaged file where a kept figure was: counted again.
    directory = tmp_path / "kept"
    settings.CACHES = {**settings.CACHES, "explorer": {**settings.CACHES["explorer"], "LOCATION": str(directory)}}
    assert selectors.count(query, schema=schema, workspace=workspace) == 3
    for kept in directory.glob("*.djcache"):
        kept.write_bytes(kept.read_bytes()[:20])
    assert selectors.count(query, schema=schema, workspace=workspace) == 3


def test_the_count_partial_pins_one_snapshot_when_nothing_is_kept(workspace, schema, folder, client, owner):
    from django.urls import reverse

    make_built_projection(workspace, schema, folder)
    client.force_login(owner)
    url = reverse("explorer:count", args=[workspace.slug])
    with CaptureQueriesContext(connection) as captured:
        body = client.get(url, {"f": "temperature:gt:30"}).content.decode()
    assert 'data-total="2"' in body
    assert sum("pg_current_snapshot()" in q["sql"] for q in captured.captured_queries) == 1
    assert _projection_counts(captured) == 1

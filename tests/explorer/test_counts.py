"""The count store (PostgreSQL): the unfiltered explorer's total, option counts and histograms equal the live
facets after every kind of write, with concurrent writers, across compaction, and for values beyond its grid."""

import json
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.explorer import counts, facets, projection, selectors
from metadata_site.explorer import query as fl
from metadata_site.explorer.models import Projection
from metadata_site.explorer.tasks import build_field_indexes
from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import (
    NewItem,
    change_set_undo,
    item_metadata_patch,
    item_metadata_write,
    items_create_bulk,
)
from metadata_site.schemas.selectors import schema_current
from tests.explorer.helpers import TYPED_FIELDS, TYPED_METADATA, make_built_projection, make_typed_items, table_rows
from tests.factories import make_folder, make_item, make_schema

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the count store is PostgreSQL's"),
]

def _live(schema, workspace) -> tuple[int, list]:
    """The total and facets of the unfiltered query as the explorer computed them before the store: one scan."""
    query = fl.Query()
    plan = facets.plan_facets(query, schema=schema, workspace=workspace)
    live = facets.run_facets(plan, facets.JsonColumns(plan, schema=schema, workspace=workspace)).facets
    return selectors.explorer_items(query, schema=schema, workspace=workspace).count(), live


def _stored(schema, workspace) -> tuple[int, list]:
    query = fl.Query()
    plan = facets.plan_facets(query, schema=schema, workspace=workspace)
    stored = facets.stored_facets(plan, schema=schema, workspace=workspace)
    assert stored is not None, "the store did not answer"
    return projection.stored_total(query, schema=schema, workspace=workspace), stored.facets


def _assert_exact(schema, workspace) -> None:
    assert _stored(schema, workspace) == _live(schema, workspace)
    total, shown = selectors.count(fl.Query(), schema=schema, workspace=workspace), facets.facets(
        fl.Query(), schema=schema, workspace=workspace)
    assert (total, shown) == _live(schema, workspace)


def _store_rows(workspace) -> int:
    return table_rows(counts.store_name(workspace.pk))


def test_a_built_store_gives_the_live_total_and_facets(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    _assert_exact(schema, workspace)
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == len(TYPED_METADATA)


def test_every_write_path_keeps_it_exact(workspace, schema, folder, owner):
    from tests.factories import make_dataset, make_project

    projection.build(workspace_id=workspace.pk, schema=schema)
    items = make_typed_items(folder)  # ORM inserts
    _assert_exact(schema, workspace)
    items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[  # COPY
        NewItem(title=f"bulk{n}.jpg", kind="image", media_url="", metadata={"weather": "Rain", "temperature": 40.0 + n})
        for n in range(5)
    ])
    _assert_exact(schema, workspace)
    written = item_metadata_write(workspace=workspace, user=owner, mode="merge",
                                  updates={items[0].pk: {"weather": "Rain", "colors": ["blue"]}})
    _assert_exact(schema, workspace)
    Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 99.0})  # a queryset update
    _assert_exact(schema, workspace)
    change_set = ChangeSet.objects.create(workspace=workspace, user=owner, source="import")
    patch = {"i": 0, "u": str(items[2].uid), "p": {"dark": True, "count": 70}, "r": ["weather"]}
    item_metadata_patch(workspace=workspace, change_set=change_set, patches=[json.dumps(patch)], merge=True)  # raw SQL
    _assert_exact(schema, workspace)
    change_set_undo(change_set=written.change_set, user=owner)  # undo
    _assert_exact(schema, workspace)
    Item.objects.filter(pk__in=[items[3].pk, items[4].pk]).delete()
    _assert_exact(schema, workspace)
    other = make_folder(workspace, "other")
    for md in TYPED_METADATA[:3]:
        make_item(other, metadata=md)
    other.delete()  # items deleted with their folder
    _assert_exact(schema, workspace)
    dataset = make_dataset(make_project(workspace), items=items[:2])
    Item.objects.filter(pk__in=dataset.items.values("pk")).delete()
    _assert_exact(schema, workspace)


def test_a_schema_change_rebuilds_it_and_it_is_not_read_meanwhile(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    make_schema(workspace, TYPED_FIELDS + [{"name": "mood", "type": "enum", "options": ["calm", "wild"]}])
    changed = schema_current(workspace=workspace)
    assert projection.stored_counts(workspace.pk, changed) is None
    assert facets.stored_facets(facets.plan_facets(fl.Query(), schema=changed, workspace=workspace),
                                schema=changed, workspace=workspace) is None
    make_item(folder, metadata={"mood": "calm", "temperature": 1e6})
    assert selectors.count(fl.Query(), schema=changed, workspace=workspace) == len(TYPED_METADATA) + 1  # live
    build_field_indexes.call(workspace_id=workspace.pk)
    _assert_exact(changed, workspace)


def test_a_suspended_or_dropped_projection_takes_its_store_along(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, TYPED_METADATA[:1])
    store = counts.store_name(workspace.pk)
    assert projection._exists(store)
    projection.suspend(workspace_id=workspace.pk)
    assert not projection._exists(store)
    assert projection.stored_counts(workspace.pk, schema) is None
    projection.build(workspace_id=workspace.pk, schema=schema)
    _assert_exact(schema, workspace)
    projection.drop(workspace_id=workspace.pk)
    assert not projection._exists(store)


@pytest.mark.django_db(transaction=True)
def test_deleting_the_workspace_drops_its_store_and_function(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, TYPED_METADATA[:1])
    store, function = counts.store_name(workspace.pk), counts.function_name(workspace.pk)
    workspace.delete()
    assert not Projection.objects.exists()
    assert not projection._exists(store)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [function])
        assert cursor.fetchone()[0] == 0


def test_values_beyond_the_grid_s_range_are_counted_exactly(workspace, schema, folder):
    for n in range(50):
        make_item(folder, metadata={"temperature": n / 7, "count": n, "captured_at": f"2025-01-{n % 28 + 1:02d}T00:00:00Z"})
    projection.build(workspace_id=workspace.pk, schema=schema)
    _assert_exact(schema, workspace)
    for md in ({"temperature": 1e6, "count": -5000}, {"temperature": -1e300, "count": 2**52},
               {"temperature": 1e300, "captured_at": "1970-01-01T00:00:00Z"},
               {"temperature": 7.0000001, "captured_at": "2999-12-31T23:59:59.999Z"}):
        make_item(folder, metadata=md)
        _assert_exact(schema, workspace)
    store = projection.stored_counts(workspace.pk, schema)
    temperature = store.slot(projection.columns_for(schema)[1].name)
    assert {counts.CLAMP, -counts.CLAMP} <= set(store.keys(temperature))  # the far values' clamped bins


def test_compaction_keeps_the_sums(workspace, schema, folder, owner):
    projection.build(workspace_id=workspace.pk, schema=schema)
    items = make_typed_items(folder, TYPED_METADATA * 3)
    for n, item in enumerate(items):
        item_metadata_write(workspace=workspace, user=owner, mode="merge",
                            updates={item.pk: {"temperature": float(n), "weather": "Rain"}})
    before = _stored(schema, workspace)
    rows = _store_rows(workspace)
    assert counts.compact(workspace_id=workspace.pk)
    assert _store_rows(workspace) < rows
    assert _stored(schema, workspace) == before
    _assert_exact(schema, workspace)


def test_a_reader_that_sees_many_deltas_compacts_the_store_after_its_transaction(
        workspace, schema, folder, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(counts, "COMPACT_ROWS", 10)
    projection.build(workspace_id=workspace.pk, schema=schema)
    make_typed_items(folder, TYPED_METADATA * 4)
    assert _store_rows(workspace) > 10
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        projection.stored_counts(workspace.pk, schema_current(workspace=workspace))
    assert len(callbacks) == 1
    assert _store_rows(workspace) <= 2 * len(projection.stored_counts(workspace.pk, schema_current(workspace=workspace)).tally)
    _assert_exact(schema, workspace)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_give_exact_totals(workspace, schema, folder):
    projection.build(workspace_id=workspace.pk, schema=schema)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(15):
                item = make_item(folder, metadata={"weather": "Rain" if n else "Sunny", "temperature": float(i * (n + 1))})
                if i % 3 == 0:
                    Item.objects.filter(pk=item.pk).update(client_metadata={"weather": "Sunny", "dark": bool(n)})
                if i % 5 == 0:
                    Item.objects.filter(pk=item.pk).delete()
                if i % 7 == 0:
                    counts.compact(workspace_id=workspace.pk)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == Item.objects.filter(workspace=workspace).count() == 24
    _assert_exact(schema, workspace)


def test_a_scope_or_a_condition_is_not_answered_by_the_store(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, TYPED_METADATA[:1])
    assert projection.stored_total(fl.Query(all=(fl.Condition("weather", fl.EQ, "Sunny"),)), schema=schema, workspace=workspace) is None
    assert projection.stored_total(fl.Query(scope=fl.Scope("folder", folder.pk)), schema=schema, workspace=workspace) is None


def test_the_unfiltered_count_partial_reads_the_store(client, workspace, schema, folder, owner, django_assert_num_queries):
    make_built_projection(workspace, schema, folder)
    client.force_login(owner)
    url = reverse("explorer:count", args=[workspace.slug])
    client.get(url)
    with django_assert_num_queries(7) as captured:
        response = client.get(url)
    assert response.status_code == 200 and f'data-total="{len(TYPED_METADATA)}"'.encode() in response.content
    assert counts.store_name(workspace.pk) in captured.captured_queries[-1]["sql"]
    assert client.get(reverse("explorer:facets", args=[workspace.slug])).status_code == 200


VALUES = st.fixed_dictionaries({}, optional={
    "weather": st.sampled_from(["Sunny", "Rain", "50% fog", "Hail", 3]),
    "temperature": st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-10**6, 10**6)),
    "count": st.integers(-100, 10**4),
    "captured_at": st.sampled_from(["2024-01-01T00:00:00Z", "2025-06-30T12:30:00Z", "1999-12-31T23:59:59.25Z", "x"]),
    "colors": st.lists(st.sampled_from(["red", "blue", "o'range", "green"]), max_size=3),
    "dark": st.sampled_from([True, False, None, "yes"]),
})
WRITES = st.lists(st.tuples(st.sampled_from(["insert", "update", "merge", "delete", "bulk"]), st.integers(0, 10**6), VALUES),
                  min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES)
def test_random_writes_keep_the_store_equal_to_the_live_facets(workspace, schema, folder, owner, writes):
    if not Projection.objects.filter(workspace=workspace, ready=True).exists():
        make_built_projection(workspace, schema, folder)
    for kind, pick, md in writes:
        ids = list(Item.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True))
        target = ids[pick % len(ids)] if ids else None
        if kind == "insert" or target is None:
            make_item(folder, metadata=md)
        elif kind == "update":
            Item.objects.filter(pk=target).update(client_metadata=md)
        elif kind == "merge":
            Item.objects.filter(pk=target).update(client_metadata={**Item.objects.get(pk=target).client_metadata, **md})
        elif kind == "delete":
            Item.objects.filter(pk=target).delete()
        else:
            items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[
                NewItem(title="b.jpg", kind="image", media_url="", metadata=md),
                NewItem(title="c.jpg", kind="image", media_url="", metadata={}),
            ])
    _assert_exact(schema, workspace)


def test_values_near_the_float_s_limits_are_written_and_counted(workspace, schema, folder):
    make_item(folder, metadata={"temperature": -1.7e308, "count": 1})
    make_item(folder, metadata={"temperature": 1.7e308})
    projection.build(workspace_id=workspace.pk, schema=schema)  # a grid over the whole float range
    make_item(folder, metadata={"temperature": 5e-324, "count": 10**15})  # the trigger never overflows
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == 3
    store = projection.stored_counts(workspace.pk, schema)
    temperature = store.slot(projection.columns_for(schema)[1].name)
    assert sum(store.keys(temperature).values()) == 3


@pytest.mark.parametrize("suspending", [False, True])
def test_imports_keep_it_exact_whether_they_keep_the_projection_or_suspend_it(workspace, schema, folder, owner,
                                                                             monkeypatch, suspending):
    from tests.imports.helpers import run_import

    monkeypatch.setattr("metadata_site.items.tasks.MAINTAIN_AFTER_ROWS", 2)
    if suspending:  # an import of most of the workspace drops the projection and its store, and has them rebuilt
        monkeypatch.setattr("metadata_site.explorer.indexes.SUSPEND_MIN_ROWS", 0)
        monkeypatch.setattr("metadata_site.explorer.indexes.should_suspend", lambda **kwargs: True)
    suspended = []
    real_suspend = projection.suspend
    monkeypatch.setattr(projection, "suspend", lambda **kwargs: suspended.append(1) or real_suspend(**kwargs))
    items = make_typed_items(folder)
    build_field_indexes.call(workspace_id=workspace.pk)  # the field indexes and the projection with its store
    spec = {"images": [{"objectUrl": f"https://cdn.example.com/{n}.jpg",
                        "clientMetadata": {"weather": "Rain", "temperature": 100.0 + n, "colors": ["red"]}}
                       for n in range(3)]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows) == ("COMPLETED", 3)
    lines = "\n".join(json.dumps({"media_id": str(i.uid), "metadata": {"dark": True, "count": 7}}) for i in items[:4])
    task = run_import(workspace, owner, lines + "\n", "rows.jsonl")
    assert (task.status, task.updated_rows) == ("COMPLETED", 4)
    assert bool(suspended) == suspending
    assert projection.stored_counts(workspace.pk, schema) is not None  # in use again (rebuilt when suspended)
    _assert_exact(schema, workspace)


@pytest.mark.django_db(transaction=True)
def test_a_reader_sees_the_counts_of_its_snapshot_while_another_transaction_writes(workspace, schema, folder):
    from django.db import transaction

    make_built_projection(workspace, schema, folder)
    written, release, errors = threading.Event(), threading.Event(), []

    def writer() -> None:
        try:
            with transaction.atomic():
                make_item(folder, metadata={"weather": "Rain", "temperature": 1000.0})
                Item.objects.filter(workspace=workspace, client_metadata__weather="Sunny").delete()
                written.set()
                release.wait(30)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(30)
    assert _stored(schema, workspace) == _live(schema, workspace)  # the uncommitted writes are in neither
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == len(TYPED_METADATA)
    release.set()
    thread.join()
    assert not errors
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == len(TYPED_METADATA) - 2 + 1
    _assert_exact(schema, workspace)


def test_a_projection_whose_store_is_missing_is_rebuilt(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, TYPED_METADATA[:1])
    assert not projection.is_missing(workspace_id=workspace.pk, schema=schema)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {counts.store_name(workspace.pk)}")
    assert projection.is_missing(workspace_id=workspace.pk, schema=schema)
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    _assert_exact(schema, workspace)

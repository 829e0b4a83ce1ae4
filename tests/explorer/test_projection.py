"""The typed projection (PostgreSQL): built from the items, kept in step by the triggers on every write
path, counted from exactly like the JSON, dropped for a bulk import and rebuilt."""

import json

import pytest
from django.db import connection
from django.http import QueryDict

from metadata_site.explorer import projection, selectors
from metadata_site.explorer import query as fl
from metadata_site.explorer.models import Projection
from metadata_site.explorer.tasks import build_field_indexes
from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import NewItem, item_metadata_patch, item_metadata_write, items_create_bulk
from metadata_site.schemas.selectors import schema_current
from tests.explorer.helpers import TYPED_FIELDS, TYPED_METADATA, make_built_projection, make_typed_items, table_rows
from tests.factories import make_folder, make_item, make_schema, make_workspace

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the typed projection is PostgreSQL's"),
]

QUERIES = [
    [],
    ["weather:eq:Sunny"],
    ["weather:ne:Sunny"],
    ["weather:in:Rain,50% fog"],
    ["weather:is_unset"],
    ["temperature:gt:30"],
    ["temperature:between:0..31", "dark:eq:false"],
    ["count:lte:2"],
    ["captured_at:between:2025-03-01T00:00:00Z..2025-04-01T00:00:00Z"],
    ["camera:contains:CAM-00"],
    ["camera:startswith:cam_"],
    ["camera:in:cam-004,x"],
    ["source:contains:example"],
    ["colors:has_any:red,o'range"],
    ["colors:has_all:red,blue"],
    ["colors:has_none:red"],
    ["colors:is_set"],
    ["dark:ne:true", "camera:is_set"],
    ["title:contains:hot"],
    ["kind:eq:image", "weather:eq:Sunny"],
]

def _query(schema, filters, *, any_=()):
    qd = QueryDict(mutable=True)
    for f in filters:
        qd.appendlist("f", f)
    for f in any_:
        qd.appendlist("any", f)
    return fl.parse_query_string(qd, schema=schema)


def _from_json(query, schema, workspace) -> int:
    return selectors.explorer_items(query, schema=schema, workspace=workspace).count()


def _assert_same_counts(schema, workspace):
    reader = projection.ProjectionCompiler.for_workspace(workspace, schema)
    assert reader is not None
    for filters in QUERIES:
        query = _query(schema, filters)
        assert reader.count(query) == _from_json(query, schema, workspace), filters
    query = _query(schema, ["camera:is_set"], any_=["weather:eq:Rain", "dark:eq:true"])
    assert reader.count(query) == _from_json(query, schema, workspace)


def _rows(workspace):
    return table_rows(projection.table_name(workspace.pk))


def test_a_built_projection_counts_exactly_what_the_json_counts(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "unchanged"
    assert _rows(workspace) == len(TYPED_METADATA)
    _assert_same_counts(schema, workspace)
    assert selectors.count(_query(schema, ["temperature:gt:30"]), schema=schema, workspace=workspace) == 2


def test_the_triggers_keep_it_in_step_with_every_write_path(workspace, schema, folder, owner):
    projection.build(workspace_id=workspace.pk, schema=schema)
    items = make_typed_items(folder)  # ORM inserts
    items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[  # COPY
        NewItem(title="bulk.jpg", kind="image", media_url="", metadata={"weather": "Rain", "temperature": 40.0})
    ])
    _assert_same_counts(schema, workspace)

    item_metadata_write(workspace=workspace, user=owner, updates={items[0].pk: {"weather": "Rain"}}, mode="merge")
    Item.objects.filter(pk=items[1].pk).update(client_metadata={"temperature": 99.0})  # a queryset update
    change_set = ChangeSet.objects.create(workspace=workspace, user=owner, source="import")
    patch = {"i": 0, "u": str(items[2].uid), "p": {"dark": True, "camera": "cam-9"}, "r": ["weather"]}
    item_metadata_patch(workspace=workspace, change_set=change_set, patches=[json.dumps(patch)], merge=True)  # raw SQL
    _assert_same_counts(schema, workspace)
    assert selectors.count(_query(schema, ["temperature:gt:90"]), schema=schema, workspace=workspace) == 1

    Item.objects.filter(pk__in=[items[3].pk, items[4].pk]).delete()
    assert _rows(workspace) == len(TYPED_METADATA) - 1
    _assert_same_counts(schema, workspace)


def test_other_workspaces_writes_do_not_touch_it(workspace, schema, folder):
    projection.build(workspace_id=workspace.pk, schema=schema)
    make_item(make_folder(make_workspace(), "theirs"), metadata={"weather": "Sunny"})
    assert _rows(workspace) == 0


def test_a_schema_change_makes_it_stale_and_counts_come_from_the_json_until_it_is_rebuilt(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, [{"weather": "Sunny", "temperature": 35.0, "mood": "calm"}])
    make_schema(workspace, TYPED_FIELDS + [{"name": "mood", "type": "string"}])
    changed = schema_current(workspace=workspace)
    assert projection.ProjectionCompiler.for_workspace(workspace, changed) is None
    assert projection.is_missing(workspace_id=workspace.pk, schema=changed)
    query = _query(changed, ["mood:eq:calm"])
    assert selectors.count(query, schema=changed, workspace=workspace) == 1  # from the JSON
    build_field_indexes.call(workspace_id=workspace.pk)
    reader = projection.ProjectionCompiler.for_workspace(workspace, changed)
    assert reader is not None and reader.count(query) == 1


def test_a_suspended_projection_is_not_written_nor_read_and_is_rebuilt(workspace, schema, folder):
    projection.build(workspace_id=workspace.pk, schema=schema)
    assert projection.suspend(workspace_id=workspace.pk)
    assert not projection.suspend(workspace_id=workspace.pk)
    make_item(folder, metadata={"weather": "Sunny"})  # the triggers skip it: no table to write
    assert projection.ProjectionCompiler.for_workspace(workspace, schema) is None
    assert selectors.count(_query(schema, ["weather:eq:Sunny"]), schema=schema, workspace=workspace) == 1
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    assert projection.ProjectionCompiler.for_workspace(workspace, schema).count(_query(schema, ["weather:eq:Sunny"])) == 1


def test_a_workspace_without_fields_gets_no_projection(workspace, folder):
    make_item(folder, metadata={"weather": "Sunny"})
    empty = schema_current(workspace=workspace)
    assert projection.build(workspace_id=workspace.pk, schema=empty) == "skipped"
    assert not projection.is_missing(workspace_id=workspace.pk, schema=empty)
    assert not Projection.objects.filter(workspace=workspace).exists()


def test_an_option_the_schema_no_longer_has_is_counted_from_the_json(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, [{"weather": "Sunny"}])
    reader = projection.ProjectionCompiler.for_workspace(workspace, schema)
    stale = fl.Query(all=(fl.Condition("weather", fl.EQ, "Hail"),))
    with pytest.raises(projection.NotProjected):
        reader.count(stale)
    assert selectors.count(stale, schema=schema, workspace=workspace) == 0


def test_the_count_partial_reads_the_projection_with_one_statement(client, workspace, schema, folder, owner,
                                                                    django_assert_num_queries):
    from django.urls import reverse

    make_built_projection(workspace, schema, folder)
    client.force_login(owner)
    url = reverse("explorer:count", args=[workspace.slug])
    client.get(url)  # the session, once
    # session, user, access, schema, whether an index rebuild is pending; the estimate's registry row and EXPLAIN;
    # the projection's registry row, the count (inside the test's transaction nothing is kept: explorer.cache)
    with django_assert_num_queries(9) as captured:
        response = client.get(url, {"f": ["weather:eq:Sunny", "temperature:gt:30", "dark:eq:true"]})
    assert response.status_code == 200 and b'data-total="1"' in response.content
    assert projection.table_name(workspace.pk) in captured.captured_queries[-1]["sql"]


@pytest.mark.django_db(transaction=True)
def test_deleting_the_workspace_drops_its_projection_table(workspace, schema, folder):
    make_built_projection(workspace, schema, folder, [{"weather": "Sunny"}])
    table = projection.table_name(workspace.pk)
    assert projection._exists(table)
    workspace.delete()
    assert not Projection.objects.exists()
    assert not projection._exists(table)


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [list(projection.TRIGGERS)])
        return {row[0] for row in cursor.fetchall()}


def test_the_triggers_exist_only_while_some_projection_is_maintained(workspace, schema, folder):
    make_item(folder, metadata={"weather": "Sunny"})  # a deferred foreign-key check is queued
    with connection.cursor() as cursor:
        projection._switch_triggers(cursor)  # none is maintained (an earlier test's may have been flushed)
    assert _triggers() == set()
    projection.build(workspace_id=workspace.pk, schema=schema)
    other = make_workspace()
    projection.build(workspace_id=other.pk, schema=schema)
    assert _triggers() == set(projection.TRIGGERS)
    projection.suspend(workspace_id=workspace.pk)
    assert _triggers() == set(projection.TRIGGERS)  # the other workspace's is still maintained
    projection.drop(workspace_id=other.pk)
    assert _triggers() == set()


def test_an_import_that_kept_it_in_step_has_it_analysed_afterwards(workspace, schema, folder, owner, monkeypatch):
    from tests.imports.helpers import run_import

    monkeypatch.setattr("metadata_site.items.tasks.MAINTAIN_AFTER_ROWS", 2)
    make_built_projection(workspace, schema, folder, [{"weather": "Sunny"}])  # analysed with 1 row
    spec = {"images": [{"objectUrl": f"https://cdn.example.com/{n}.jpg", "clientMetadata": {"weather": "Rain"}}
                       for n in range(3)]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows) == ("COMPLETED", 3)
    assert selectors.count(_query(schema, ["weather:eq:Rain"]), schema=schema, workspace=workspace) == 3
    with connection.cursor() as cursor:
        # The maintenance task ran (immediately, in tests): inside the test's transaction it is an ANALYZE.
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [projection.table_name(workspace.pk)])
        assert cursor.fetchone()[0] == 4


@pytest.mark.django_db(transaction=True)
def test_the_vacuum_after_a_bulk_write_also_reclaims_the_change_log_and_the_count_store(workspace, schema, folder):
    from metadata_site.explorer import counts

    make_built_projection(workspace, schema, folder, [{"weather": "Sunny"}])
    items_create_bulk(workspace=workspace, folder_id=folder.pk,
                      items=[NewItem(f"n{n}.jpg", "image", "", {"weather": "Rain"}) for n in range(200)])
    log, store = counts.delta_name(workspace.pk), counts.store_name(workspace.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {log}")  # as a pruning does: dead rows until a VACUUM
        assert projection.vacuum(workspace_id=workspace.pk) is True
        cursor.execute("SELECT relname, relpages, relallvisible FROM pg_class WHERE relname = ANY(%s)", [[log, store]])
        pages = {name: (total, visible) for name, total, visible in cursor.fetchall()}
    assert set(pages) == {log, store}
    assert pages[log] == (0, 0)  # every row was dead: the VACUUM truncated the table
    assert pages[store][0] > 0 and pages[store][1] == pages[store][0]  # compacted, then every page all-visible


def test_a_datetime_s_stored_epoch_is_what_postgresql_makes_of_its_text():
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(7)
    start = datetime(1601, 1, 1, tzinfo=UTC)
    stamps = ["2024-02-29T23:59:59Z", "2000-03-01T00:00:00Z", "1900-02-28T12:00:00Z", "2100-12-31T23:59:59.5Z",
              "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "2025-03-01T00:00:00.25Z"]
    for _ in range(2000):
        moment = start + timedelta(seconds=rng.randrange(0, 600 * 365 * 86400), microseconds=rng.choice([0, rng.randrange(10**6)]))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else "") + "Z"
        stamps.append(text)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM unnest(%s::text[]) t(v) WHERE {projection.epoch_sql('t.v')} "
            "IS DISTINCT FROM extract(epoch from t.v::timestamptz)::double precision",
            [stamps],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT {projection.epoch_sql('t.v')} FROM unnest(%s::text[]) t(v)",
                       [["2025-02-30T00:00:00Z", "yesterday", "2025-03-01 10:00:00+02"]])
        assert [row[0] is None for row in cursor.fetchall()] == [False, True, True]  # never an error


@pytest.mark.django_db(transaction=True)
def test_writes_while_it_is_built_are_all_in_it_when_it_is_ready(workspace, schema, folder, monkeypatch):
    """Writes from another connection while the table is registered, filled and indexed: updates, deletes and
    inserts that wait for the registration's lock, race the fill, or land while the indexes are built."""
    import threading

    from django.db import connections

    items = make_typed_items(folder, TYPED_METADATA * 3)
    errors: list[BaseException] = []

    def writes(step: int) -> None:
        try:
            mine = items[step * 4:(step + 1) * 4]
            Item.objects.filter(pk=mine[0].pk).update(client_metadata={"weather": "Rain", "temperature": 50.0 + step})
            Item.objects.filter(pk=mine[1].pk).delete()
            make_item(folder, metadata={"weather": "Sunny", "dark": True, "captured_at": "2025-03-02T00:00:00Z"})
            mine[2].client_metadata = {"colors": ["blue"], "camera": f"cam-{step}"}
            mine[2].save()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads: list[threading.Thread] = []
    switch, index_sql = projection._switch_triggers, projection._index_sql

    def registering(cursor):
        switch(cursor)
        if not threads:  # waits for the registration's lock, then races the fill
            threads.append(threading.Thread(target=writes, args=(0,)))
            threads[-1].start()

    def indexing(*args):
        threads.append(threading.Thread(target=writes, args=(1,)))
        threads[-1].start()
        threads[-1].join()
        return index_sql(*args)

    monkeypatch.setattr(projection, "_switch_triggers", registering)
    monkeypatch.setattr(projection, "_index_sql", indexing)
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    for thread in threads:
        thread.join()
    assert not errors
    assert _rows(workspace) == Item.objects.filter(workspace=workspace).count() == len(items)
    _assert_same_counts(schema, workspace)
    assert selectors.count(_query(schema, ["temperature:gte:50"]), schema=schema, workspace=workspace) == 2
    assert projection.stored_total(fl.Query(), schema=schema, workspace=workspace) == len(items)  # the count store too

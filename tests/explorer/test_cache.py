"""Counts and facets kept under the projection's version (`explorer.cache`): served again while nothing was written,
and exact after any write, rollback, rebuild or move."""

import pytest
from django.core.cache import cache as django_cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metadata_site.explorer import counts, facets, projection, selectors
from metadata_site.explorer import query as fl
from metadata_site.explorer.cache import cacheable
from metadata_site.items.models import Item
from tests.explorer.helpers import make_built_projection
from tests.factories import make_folder

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the typed projection is PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def empty_cache():
    django_cache.clear()


def _query(schema, *conditions: str) -> fl.Query:
    from django.http import QueryDict

    qd = QueryDict(mutable=True)
    for c in conditions:
        qd.appendlist("f", c)
    return fl.parse_query_string(qd, schema=schema)


def _projection_counts(captured) -> int:
    return sum(1 for q in captured.captured_queries if "SELECT count(*) FROM msx_" in q["sql"])


def test_the_same_count_is_read_from_the_projection_once_while_nothing_is_written(workspace, schema, folder):
    make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    with CaptureQueriesContext(connection) as captured:
        assert selectors.count(query, schema=schema, workspace=workspace) == 2
        assert selectors.count(query, schema=schema, workspace=workspace) == 2
    assert _projection_counts(captured) == 1


def test_a_write_moves_the_version_and_the_next_count_is_exact(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:30")
    before = counts.version(workspace.pk)
    assert selectors.count(query, schema=schema, workspace=workspace) == 2
    Item.objects.filter(pk=items[1].pk).update(client_metadata={**items[1].client_metadata, "temperature": 40.0})
    assert counts.version(workspace.pk) == before + 1
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


def test_facets_are_kept_and_follow_a_write(workspace, schema, folder):
    items = make_built_projection(workspace, schema, folder)
    query = _query(schema, "temperature:gt:0")
    first = facets.facets(query, schema=schema, workspace=workspace)
    assert facets.facets(query, schema=schema, workspace=workspace) == first
    Item.objects.filter(pk=items[3].pk).update(client_metadata={**items[3].client_metadata, "temperature": 12.0})
    after = facets.facets(query, schema=schema, workspace=workspace)
    assert after == facets.facets_per_field(query, schema=schema, workspace=workspace)
    weather = next(f for f in after if f.spec.name == "weather")
    assert next(o.count for o in weather.options if o.value == "50% fog") == 1


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

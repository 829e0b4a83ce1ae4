"""Scopes: one resolver for folders, datasets and collections, live ones nested in live ones included; and the
links made from a stored filter (a dataset's provenance) parse back to the same query."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse

from metadata_site.collections import services
from metadata_site.collections.selectors import collection_items
from metadata_site.explorer import query as fl
from metadata_site.explorer import selectors
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_collection, make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(workspace):
    make_schema(workspace, [{"name": "temperature", "type": "float"}])
    folder = make_folder(workspace)
    return [make_item(folder, f"t{t}.jpg", metadata={"temperature": t}) for t in (5, 15, 25, 35)]


def _count(workspace, scope: str) -> int:
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string(QueryDict(f"scope={scope}"), schema=schema)
    return selectors.count(query, schema=schema, workspace=workspace)


def test_a_live_collection_scoped_to_another_live_collection_follows_its_scope(workspace, items):
    warm = make_collection(workspace, "Warm", kind="live",
                           filter={"all": [{"field": "temperature", "op": "gte", "value": 10}]})
    hot = make_collection(workspace, "Hot", kind="live",
                          filter={"all": [{"field": "temperature", "op": "lte", "value": 30}], "scope": f"collection:{warm.pk}"})
    assert set(collection_items(hot)) == {items[1], items[2]}
    assert _count(workspace, f"collection:{hot.pk}") == 2


def test_a_live_collection_scoped_to_a_frozen_one_reads_its_members(workspace, items):
    frozen = make_collection(workspace, "Picked", items=[items[0], items[3]])
    live = make_collection(workspace, "Picked and warm", kind="live",
                           filter={"all": [{"field": "temperature", "op": "gt", "value": 10}], "scope": f"collection:{frozen.pk}"})
    assert list(collection_items(live)) == [items[3]]
    assert _count(workspace, f"collection:{live.pk}") == 1


def test_live_collections_scoped_to_each_other_match_nothing(workspace, items):
    a = make_collection(workspace, "A", kind="live")
    b = make_collection(workspace, "B", kind="live", filter={"scope": f"collection:{a.pk}"})
    a.filter = {"scope": f"collection:{b.pk}"}
    a.save()
    assert list(collection_items(a)) == [] and list(collection_items(b)) == []
    assert _count(workspace, f"collection:{a.pk}") == 0


def test_live_collections_nested_too_deep_are_a_clear_error(workspace, items):
    inner = make_collection(workspace, "c0", kind="live")
    for n in range(1, fl.MAX_SCOPE_DEPTH + 1):
        inner = make_collection(workspace, f"c{n}", kind="live", filter={"scope": f"collection:{inner.pk}"})
    schema = schema_current(workspace=workspace)
    with pytest.raises(fl.FilterError) as err:
        fl.scope_q(workspace, fl.Scope("collection", inner.pk), schema=schema)
    assert err.value.param == "scope"
    assert f"more than {fl.MAX_SCOPE_DEPTH} deep" in str(err.value)


def test_the_dataset_source_link_of_a_range_filter_opens_the_explorer_on_that_range(workspace, owner, login, items):
    c = make_collection(workspace, "Some", items=items)
    client = login(owner)
    ds = services.dataset_create_from_collections(
        workspace=workspace, user=owner, title="train", collection_ids=[c.pk],
        filter_state={"all": [{"field": "temperature", "op": "between", "value": [10.0, 30.0]}]},
        new_project_name="P", split_image_groups=True,
    )
    html = client.get(reverse("projects:dataset-info", args=["acme", ds.pk])).content.decode()
    assert "temperature%3Abetween%3A10.0..30.0" in html
    link = reverse("explorer:explore", args=["acme"]) + "?f=temperature%3Abetween%3A10.0..30.0"
    assert link in html
    response = client.get(link)
    assert response.status_code == 200
    assert parse_qs(urlsplit(link).query)["f"] == ["temperature:between:10.0..30.0"]


def test_a_stored_query_writes_the_parameters_it_was_parsed_from(workspace, items):
    schema = schema_current(workspace=workspace)
    params = "f=temperature%3Abetween%3A10.0..30.0&any=title%3Acontains%3At1&any=temperature%3Ais_set&scope=folder%3A7"
    query = fl.parse_query_string(QueryDict(params), schema=schema)
    assert fl.stored_query(query.to_json()).to_params() == query.to_params()

"""The explorer page and its lazy partials: access, filters from the URL, errors, query counts."""

import pytest
from django.urls import reverse

from metadata_site.explorer import indexes
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

FIELDS = [
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    {"name": "temperature", "type": "float"},
    {"name": "captured_at", "type": "datetime"},
    {"name": "camera", "type": "string"},
    {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
    {"name": "dark", "type": "boolean"},
]


@pytest.fixture
def items(workspace):
    make_schema(workspace, FIELDS)
    folder = make_folder(workspace, "root")
    sub = make_folder(workspace, "sub", parent=folder)
    return [
        make_item(folder, "sunny_hot.jpg", metadata={"weather": "Sunny", "temperature": 35.0, "dark": True,
                                                     "captured_at": "2025-03-05T10:00:00Z", "colors": ["red"]}),
        make_item(folder, "sunny_cold.jpg", metadata={"weather": "Sunny", "temperature": 5.0, "dark": False,
                                                      "captured_at": "2024-01-05T10:00:00Z", "colors": []}),
        make_item(sub, "rain.jpg", metadata={"weather": "Rain", "temperature": 31.0, "camera": "cam-004"}),
    ]


def url(workspace, name="explorer:explore"):
    return reverse(name, args=[workspace.slug])


def test_owner_and_viewer_see_the_explorer_and_a_stranger_gets_404(login, workspace, items, owner, viewer, stranger):
    assert login(owner).get(url(workspace)).status_code == 200
    assert login(viewer).get(url(workspace)).status_code == 200
    assert login(stranger).get(url(workspace)).status_code == 404
    assert login(stranger).get(url(workspace, "explorer:count")).status_code == 404
    assert login(stranger).get(url(workspace, "explorer:facets")).status_code == 404
    assert login(stranger).post(url(workspace, "explorer:selection"), {"selection": "filter"}).status_code == 404


def test_it_filters_the_grid_from_the_url(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": ["weather:eq:Sunny", "temperature:gt:30"]})
    assert response.status_code == 200
    body = response.content.decode()
    assert "sunny_hot.jpg" in body
    assert "sunny_cold.jpg" not in body and "rain.jpg" not in body


def test_widget_inputs_redirect_to_the_canonical_url(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "in.weather": ["Sunny", "Rain"], "op.temperature": "gt", "v.temperature": "30"})
    assert response.status_code == 302
    assert response["Location"] == url(workspace) + "?f=weather%3Ain%3ASunny%2CRain&f=temperature%3Agt%3A30.0"


def test_htmx_requests_get_the_fragment_and_the_url_to_push(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "eq.dark": "true"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert response["HX-Push-Url"] == url(workspace) + "?f=dark%3Aeq%3Atrue"
    assert "sunny_hot.jpg" in response.content.decode()


def test_a_bad_filter_is_a_400_with_the_message(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": "nope:gt:warm"})
    assert response.status_code == 400
    assert "f=nope:gt:warm: &#x27;nope&#x27; expects a number" in response.content.decode()
    assert login(owner).get(url(workspace, "explorer:count"), {"f": "weather:gt:1"}).status_code == 400


def test_the_count_partial_counts_exactly(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:count"), {"f": "temperature:gt:30"})
    assert 'data-total="2"' in response.content.decode()


def test_the_folder_scope_includes_subfolders(login, workspace, items, owner):
    folder = items[0].folder
    response = login(owner).get(url(workspace, "explorer:count"), {"scope": f"folder:{folder.pk}"})
    assert 'data-total="3"' in response.content.decode()


def test_the_dataset_scope_and_membership_filter(login, workspace, items, owner):
    ds = make_dataset(make_project(workspace), items=[items[2]])
    client = login(owner)
    assert 'data-total="1"' in client.get(url(workspace, "explorer:count"), {"scope": f"dataset:{ds.pk}"}).content.decode()
    assert 'data-total="1"' in client.get(url(workspace, "explorer:count"), {"f": f"dataset:eq:{ds.pk}"}).content.decode()


def test_facets_count_each_option_under_the_other_filters(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:facets"), {"f": ["weather:eq:Sunny", "temperature:gt:30"]})
    body = response.content.decode()
    # weather counts ignore the weather filter: Sunny 1 (hot), Rain 1 (31 degrees)
    assert 'id="fc-weather-1" hx-swap-oob="true" data-count="1"' in body
    assert 'id="fc-weather-2" hx-swap-oob="true" data-count="1"' in body
    # dark counts under both filters: one true
    assert 'id="fc-dark-1" hx-swap-oob="true" data-count="1"' in body
    assert 'id="hist-temperature" hx-swap-oob="true"' in body


def test_the_table_view_shows_typed_values(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"view": "table", "cols": "temperature,dark", "sort": "-temperature"})
    body = response.content.decode()
    assert body.index("sunny_hot.jpg") < body.index("rain.jpg") < body.index("sunny_cold.jpg")
    assert '<td class="v-float">35.0</td>' in body


def test_keyset_paging_walks_every_item_once(login, workspace, items, owner, settings):
    from metadata_site.explorer import views

    client = login(owner)
    views.PAGE_SIZE, old = 2, views.PAGE_SIZE
    try:
        first = client.get(url(workspace), {"sort": "temperature"})
        next_url = first.context["next_url"]
        second = client.get(url(workspace) + next_url)
    finally:
        views.PAGE_SIZE = old
    titles = [r["item"].title for r in first.context["rows"]] + [r["item"].title for r in second.context["rows"]]
    assert titles == ["sunny_cold.jpg", "rain.jpg", "sunny_hot.jpg"]


def test_select_all_matching_posts_the_filter_not_ids(login, workspace, items, owner):
    client = login(owner)
    page = client.get(url(workspace), {"f": "weather:eq:Sunny", "select": "all"}).content.decode()
    assert 'name="selection" value="filter"' in page
    response = client.post(url(workspace, "explorer:selection"), {"selection": "filter", "f": "weather:eq:Sunny"})
    assert response.status_code == 200
    assert response.context["total"] == 2
    bad = client.post(url(workspace, "explorer:selection"), {"selection": "filter", "f": "weather:eq:Hail"})
    assert bad.status_code == 400 and "Hail" in bad.content.decode()


@pytest.mark.django_db
def test_a_filter_selection_is_counted_from_the_projection_when_it_is_ready(login, workspace, items, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metadata_site.explorer import projection

    if connection.vendor != "postgresql":
        pytest.skip("the typed projection is PostgreSQL's")
    projection.build(workspace_id=workspace.pk, schema=schema_current(workspace=workspace))
    client = login(owner)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url(workspace, "explorer:selection"), {"selection": "filter", "f": "temperature:gt:30"})
    assert response.context["total"] == 2
    assert any(projection.table_name(workspace.pk) in q["sql"] for q in ctx.captured_queries)


def test_ticked_items_post_as_ids(login, workspace, items, owner, viewer):
    response = login(viewer).post(url(workspace, "explorer:selection"), {"selection": "ids", "item": [str(items[0].uid)]})
    assert response.context["total"] == 1
    assert login(viewer).post(url(workspace, "explorer:selection"), {"selection": "ids"}).status_code == 400


def test_the_page_takes_a_fixed_number_of_queries(login, workspace, items, owner, django_assert_num_queries):
    client = login(owner)
    client.get(url(workspace))  # warm the session
    # session, user, membership, schema, the page (sorted part + unset part: the page is not full),
    # collection tags of the page (frozen memberships, live collections)
    with django_assert_num_queries(8):
        client.get(url(workspace), {"f": ["weather:in:Sunny,Rain", "temperature:gt:1"], "sort": "-captured_at"})
    make_item(items[0].folder, "more.jpg", metadata={"weather": "Rain", "temperature": 9.0})
    with django_assert_num_queries(8):
        client.get(url(workspace), {"f": ["weather:in:Sunny,Rain", "temperature:gt:1"], "sort": "-captured_at"})


@pytest.mark.django_db(transaction=True)
def test_a_schema_change_builds_the_field_indexes(workspace, items):
    schema = schema_current(workspace=workspace)
    found = indexes._existing(workspace.pk)
    wanted = {s.name for s in (indexes.pg_index_specs(workspace.pk, schema, trigram=True) if indexes.connection.vendor == "postgresql" else indexes.sqlite_index_specs(workspace.pk, schema))}
    # make_schema does not send schema_changed; the task does the work when it is sent
    assert not wanted <= set(found)
    from metadata_site.schemas.models import MetadataSchema
    from metadata_site.schemas.signals import schema_changed

    schema_changed.send(sender=MetadataSchema, workspace=workspace, schema=None)
    found = indexes._existing(workspace.pk)
    assert wanted <= set(found)
    # idempotent, and dropping a field drops its indexes
    make_schema(workspace, [f for f in FIELDS if f["name"] != "temperature"])
    schema_changed.send(sender=MetadataSchema, workspace=workspace, schema=None)
    assert not any("temperature" in name for name in indexes._existing(workspace.pk))
    assert any("weather" in name for name in indexes._existing(workspace.pk))


@pytest.mark.parametrize(
    "filters",
    [
        [],
        ["weather:eq:Sunny"],
        ["weather:eq:Sunny", "temperature:gt:30", "dark:eq:true"],
        ["colors:has_any:red", "camera:is_unset"],
        ["temperature:between:0..40", "dark:ne:true"],
        ["weather:in:Sunny,Rain", "weather:ne:Rain", "colors:has_all:red,blue", "captured_at:is_set"],
        ["colors:has_none:blue", "dark:eq:false", "camera:is_unset"],
    ],
)
@pytest.mark.parametrize("from_projection", [False, True], ids=["json", "projection"])
def test_facets_in_one_pass_equal_the_per_field_definition(workspace, items, filters, from_projection):
    from django.db import connection
    from django.http import QueryDict

    from metadata_site.explorer import filters as fl
    from metadata_site.explorer import projection, selectors

    if from_projection and connection.vendor != "postgresql":
        pytest.skip("the typed projection is PostgreSQL's")
    make_item(items[0].folder, "odd.jpg", metadata={"weather": 3, "temperature": "hot", "colors": "red", "dark": None})
    schema = schema_current(workspace=workspace)
    if from_projection:
        projection.build(workspace_id=workspace.pk, schema=schema)
        assert projection.Reader.for_workspace(workspace, schema) is not None
    qd = QueryDict(mutable=True)
    for f in filters:
        qd.appendlist("f", f)
    query = fl.parse_query_string(qd, schema=schema)
    one_pass = selectors.facets(query, schema=schema, workspace=workspace)
    per_field = selectors.facets_per_field(query, schema=schema, workspace=workspace)
    for x, y in zip(one_pass, per_field, strict=True):
        assert x == y
    assert any(o.count for f in one_pass for o in (f.options or []))

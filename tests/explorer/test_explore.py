"""The explorer page and its lazy partials: access, filters from the URL, errors, query counts."""

import re

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
        ["dark:eq:true"],
        ["colors:has_any:red", "colors:has_none:blue"],
    ],
)
@pytest.mark.parametrize("from_projection", [False, "grouped", "histograms apart", "per option"],
                         ids=["json", "projection-grouped", "projection-histograms-apart", "projection-per-option"])
def test_facets_in_one_pass_equal_the_per_field_definition(workspace, items, filters, from_projection, monkeypatch):
    from django.db import connection
    from django.http import QueryDict

    from metadata_site.explorer import facets, projection, selectors
    from metadata_site.explorer import query as fl

    if from_projection and connection.vendor != "postgresql":
        pytest.skip("the typed projection is PostgreSQL's")
    if from_projection == "per option":  # as when the option keys could combine into too many groups
        monkeypatch.setattr(facets, "GROUPED_MAX_KEYS", 1)
    if from_projection == "histograms apart":  # each histogram grouped in a branch of its own
        monkeypatch.setattr(facets, "HISTOGRAMS_PER_GROUP", 1)
    make_item(items[0].folder, "odd.jpg", metadata={"weather": 3, "temperature": "hot", "colors": "red", "dark": None})
    schema = schema_current(workspace=workspace)
    if from_projection:
        projection.build(workspace_id=workspace.pk, schema=schema)
        assert projection.ProjectionCompiler.for_workspace(workspace, schema) is not None
    qd = QueryDict(mutable=True)
    for f in filters:
        qd.appendlist("f", f)
    query = fl.parse_query_string(qd, schema=schema)
    one_pass = facets.facets(query, schema=schema, workspace=workspace)
    per_field = facets.facets_per_field(query, schema=schema, workspace=workspace)
    for x, y in zip(one_pass, per_field, strict=True):
        assert x == y
    counted = facets._facets(query, schema=schema, workspace=workspace).total  # the pass counts its result too
    assert counted in (None, selectors.explorer_items(query, schema=schema, workspace=workspace).count())
    assert counted is not None or not filters  # only the count store's answer (no filter) does not count
    assert any(o.count for f in one_pass for o in (f.options or []))


# --- URL state built in one place, problems marked where they are (issue 20, items 1, 2, 4, 5, 7) -------------


def test_the_sort_belongs_to_the_filters_form_whose_url_is_the_page_path(login, workspace, items, owner):
    """The sort form used `hx-get=""`, which htmx resolves to the current URL, filters included, and then
    added its own hidden copies of them: every sort change doubled the filters."""
    body = login(owner).get(url(workspace), {"f": "weather:eq:Sunny", "sort": "title"}).content.decode()
    assert 'hx-get=""' not in body
    assert f'hx-get="{url(workspace)}" hx-target="#ex-results"' in body
    assert '<select name="sort" id="sort" form="filters">' in body
    assert body.count('name="f"') == 0  # a condition a widget shows is not also a hidden input


def test_a_sort_change_from_the_form_keeps_each_filter_once(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "in.weather": "Sunny", "f": ["dark:eq:true"], "sort": "-temperature"})
    assert response.status_code == 302
    assert response["Location"] == url(workspace) + "?f=dark%3Aeq%3Atrue&f=weather%3Ain%3ASunny&sort=-temperature"


def test_duplicate_conditions_in_a_url_collapse_into_one(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": ["weather:eq:Sunny"] * 4}, headers={"HX-Request": "true"})
    assert response["HX-Push-Url"] == url(workspace) + "?f=weather%3Aeq%3ASunny"
    assert len(response.context["chips"]) == 1


def test_a_bad_widget_value_is_marked_at_its_input_and_the_other_filters_apply(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "in.weather": "Sunny", "op.temperature": "gt", "v.temperature": "12,5"})
    assert response.status_code == 400
    body = response.content.decode()
    assert '<p class="field-error error small" id="err-temperature" role="alert">&#x27;temperature&#x27; expects a number, got &#x27;12,5&#x27;</p>' in body
    assert 'id="w-v-temperature" value="12,5" aria-label="temperature value" aria-invalid="true"' in body
    assert 'name="in.weather" value="Sunny" checked' in body
    # The grid, the count and the facets all use weather = Sunny.
    assert "sunny_hot.jpg" in body and "sunny_cold.jpg" in body and "rain.jpg" not in body
    assert response.context["count_url"].endswith("?f=weather%3Ain%3ASunny")
    assert response.context["facets_url"].endswith("?f=weather%3Ain%3ASunny")


def test_an_htmx_request_with_a_problem_replaces_the_whole_explorer_and_pushes_what_was_typed(login, workspace, items, owner):
    response = login(owner).get(
        url(workspace), {"apply": "1", "in.weather": "Sunny", "op.temperature": "gt", "v.temperature": "warm"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#explorer" and response["HX-Reselect"] == "#explorer"
    assert response["HX-Push-Url"] == url(workspace) + "?f=weather%3Ain%3ASunny&f=temperature%3Agt%3Awarm"
    ok = login(owner).get(url(workspace), {"apply": "1", "in.weather": "Sunny"}, headers={"HX-Request": "true"})
    assert ok.status_code == 200 and "HX-Retarget" not in ok


def test_a_bad_condition_in_the_url_is_listed_and_kept_and_the_count_agrees_with_the_grid(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": ["weather:eq:Sunny", "nope:has_any:a"]})
    assert response.status_code == 400
    body = response.content.decode()
    assert "f=nope:has_any:a: operator &#x27;has_any&#x27; is not allowed for &#x27;nope&#x27; (undeclared)" in body
    assert '<input type="hidden" name="f" value="nope:has_any:a">' in body  # not silently dropped
    assert response.context["count_url"].endswith("?f=weather%3Aeq%3ASunny")
    bad = [c for c in response.context["chips"] if c["group"] == "bad"]
    assert [c["label"] for c in bad] == ["nope:has_any:a"] and bad[0]["remove"] == "?f=weather%3Aeq%3ASunny"


def test_an_invalid_query_counts_nothing_and_says_so(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": "weather:eq:Sunny", "scope": "folder:999999"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The query is invalid, so nothing is listed: scope: no folder 999999 in this workspace" in body
    assert "no count (invalid query)" in body and "explore/count/" not in body
    assert "sunny_hot.jpg" not in body


def test_a_bad_sort_is_named_and_the_filters_still_apply(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": "weather:eq:Rain", "sort": "colors"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "sort: cannot sort by &#x27;colors&#x27;" in body
    assert "rain.jpg" in body and "sunny_hot.jpg" not in body


def test_filters_apply_as_they_change_and_the_count_waits_with_a_loading_mark(login, workspace, items, owner):
    body = login(owner).get(url(workspace)).content.decode()
    assert 'hx-trigger="submit, input delay:500ms" hx-sync="this:replace"' in body
    assert '<button type="submit" class="primary">Apply filters</button>' in body  # without JavaScript
    assert 'hx-trigger="load" hx-swap="outerHTML" data-loading>' in body
    assert 'id="facets" hx-get=' in body and 'data-loading>' in body


def test_one_bound_of_a_range_is_an_open_range(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "op.temperature": "between", "v2.temperature": "30"})
    assert response["Location"] == url(workspace) + "?f=temperature%3Alte%3A30.0"


def test_the_or_builder_rows_serialise_to_any_parameters(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {
        "apply": "1",
        "or.field": ["weather", "temperature", ""], "or.op": ["eq", "gt", "eq"], "or.value": ["Rain", "30", ""],
    })
    assert response["Location"] == url(workspace) + "?any=weather%3Aeq%3ARain&any=temperature%3Agt%3A30.0"
    page = login(owner).get(response["Location"])
    rows = page.context["or_rows"]
    assert [(r["field"], r["op"], r["value"]) for r in rows] == [("weather", "eq", "Rain"), ("temperature", "gt", "30.0"), ("", "", "")]
    assert '<option value="weather" data-ops="eq ne in is_set is_unset" selected>weather</option>' in page.content.decode()


def test_a_bad_or_row_is_marked_in_its_row(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {
        "apply": "1", "or.field": ["weather", "temperature"], "or.op": ["eq", "gt"], "or.value": ["Rain", "hot"],
    })
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="or-err-2" role="alert">&#x27;temperature&#x27; expects a number, got &#x27;hot&#x27;</p>' in body
    assert 'id="or-value-2" value="hot"' in body
    assert "rain.jpg" in body and "sunny_hot.jpg" not in body


def test_the_table_has_thumbnails_chosen_columns_and_empty_lists_are_empty(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"view": "table", "col": ["colors", "weather"], "f": "weather:eq:Sunny"})
    body = response.content.decode()
    assert [spec.name for spec in response.context["columns"]] == ["colors", "weather"]
    assert f'class="ex-thumb"><img src="/w/acme/items/{items[0].uid}/thumb.png" alt="" loading="lazy" width="48" height="36">' in body
    assert "[]" not in body
    assert '<td class="v-enum"></td>' in body  # sunny_cold's colors: []
    # Switching view keeps the filters, the sort and the columns.
    ctx = response.context
    assert ctx["grid_link"] == "?f=weather%3Aeq%3ASunny&cols=colors%2Cweather"
    assert ctx["table_link"] == "?f=weather%3Aeq%3ASunny&view=table&cols=colors%2Cweather"


# --- charts (issue 20, item 14) ----------------------------------------------------------------------------------


def test_an_empty_histogram_says_no_values(login, workspace, items, owner):
    body = login(owner).get(url(workspace, "explorer:facets"), {"f": "temperature:gt:100"}).content.decode()
    temperature = body[body.index('data-facet-for="temperature"'):body.index('data-facet-for="colors"')]
    assert "no values" in temperature and "hist-bars" not in temperature


def test_histograms_show_their_scale_and_dates_read_short(login, workspace, items, owner):
    body = login(owner).get(url(workspace, "explorer:facets")).content.decode()
    temperature = body[body.index('data-facet-for="temperature"'):body.index('data-facet-for="colors"')]
    # 5 .. 35 in buckets of a nice width (2) on its multiples: 4 .. 36
    assert '<span data-axis="low">4</span>' in temperature and '<span data-axis="high">36</span>' in temperature
    assert '<span class="hist-peak muted small" title="the tallest bar\'s count">1</span>' in temperature
    captured = body[body.index('data-facet-for="captured_at"'):]
    assert '<span data-axis="low">5 Jan 2024</span>' in captured and '<span data-axis="high">5 Mar 2025</span>' in captured


def test_integer_fields_get_integer_bins(login, workspace, owner):
    make_schema(workspace, [{"name": "people", "type": "integer"}])
    folder = make_folder(workspace, "crowd")
    for n in (0, 1, 1, 2, 7):
        make_item(folder, f"p{n}.jpg", metadata={"people": n})
    facets = login(owner).get(url(workspace, "explorer:facets")).context["facets"]
    buckets = facets[0].buckets
    assert [(b.low, b.high, b.count) for b in buckets] == [(n, n, c) for n, c in zip(range(8), [1, 2, 1, 0, 0, 0, 0, 1], strict=True)]
    assert all(isinstance(b.low, int) for b in buckets) and buckets[1].label == "1"
    assert buckets[1].url == "?f=people%3Abetween%3A1..1"


def test_a_facet_option_link_keeps_the_sort_and_the_table_view(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:facets"), {"f": "dark:eq:true", "sort": "-temperature", "view": "table", "cols": "dark"})
    weather = response.context["facets"][0]
    assert weather.options[1].url == "?f=dark%3Aeq%3Atrue&f=weather%3Aeq%3ARain&sort=-temperature&view=table&cols=dark"


# --- a count with many matches: a labelled estimate first, then the exact figure (issue 23) -------------------


@pytest.mark.parametrize("from_projection", [False, True], ids=["json", "projection"])
def test_a_count_that_looks_slow_shows_a_labelled_estimate_then_asks_for_the_exact_figure(
    login, workspace, items, owner, monkeypatch, from_projection
):
    from django.db import connection

    from metadata_site.explorer import projection, selectors

    if connection.vendor != "postgresql":
        pytest.skip("SQLite gives no planner estimate: its counts are always exact")
    if from_projection:
        projection.build(workspace_id=workspace.pk, schema=schema_current(workspace=workspace))
    monkeypatch.setattr(selectors, "ESTIMATE_ABOVE", 0)
    monkeypatch.setattr(selectors, "ESTIMATE_ABOVE_JSON", 0)
    client = login(owner)
    body = client.get(url(workspace, "explorer:count"), {"f": "temperature:gt:30"}).content.decode()
    assert "data-estimate=" in body and "(estimate; counting exactly…)" in body and "data-total" not in body
    follow = re.search(r'hx-get="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "exact=1" in follow and "f=temperature%3Agt%3A30" in follow
    exact = client.get(follow).content.decode()
    assert 'data-total="2"' in exact and "estimate" not in exact


def test_a_count_with_few_matches_is_exact_at_once(login, workspace, items, owner):
    body = login(owner).get(url(workspace, "explorer:count"), {"f": "temperature:gt:30"}).content.decode()
    assert 'data-total="2"' in body and "data-estimate" not in body


def test_select_all_matching_counts_exactly_even_where_the_total_is_estimated(login, workspace, items, owner):
    body = login(owner).get(url(workspace), {"f": "temperature:gt:30", "select": "all"}).content.decode()
    assert re.search(r'id="selected-count">All <span hx-get="[^"]*exact=1"', body)


def test_a_numbers_buckets_stay_when_a_new_highest_value_stays_within_the_last_one(workspace, owner):
    from metadata_site.explorer import facets
    from metadata_site.schemas.selectors import schema_current

    make_schema(workspace, [{"name": "score", "type": "float"}])
    folder = make_folder(workspace, "scored")
    for value in (-20.0, 3.3, 39.99):
        make_item(folder, metadata={"score": value})
    spec = schema_current(workspace=workspace).get("score")
    before = facets.histogram_range(spec, workspace=workspace)
    assert (before.low, before.width, before.count) == (-20.0, 4.0, 15)  # (39.99 + 20) / 20 = 3.0 -> 4
    make_item(folder, metadata={"score": 39.995})
    assert facets.histogram_range(spec, workspace=workspace) == before
    make_item(folder, metadata={"score": 40.5})  # past the last bucket: one more
    assert facets.histogram_range(spec, workspace=workspace).count == 16

"""The viewer's ← / → and Esc: previous / next in the explorer's result (filters and sort kept), computed
with keyset lookups of the explorer's own filter module, and the way back to the same grid page."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from metadata_site.explorer import query as fl
from metadata_site.explorer import selectors
from metadata_site.explorer.views import PAGE_SIZE
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema

FIELDS = [{"name": "temperature", "type": "float"}, {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}]


@pytest.fixture
def items(workspace):
    make_schema(workspace, FIELDS)
    folder = make_folder(workspace, "root")
    temps = [30.0, None, 12.5, 30.0, 5.0, None, 18.0, 12.5, None, 40.0, 7.0]
    return [
        make_item(folder, f"img_{n:02d}.jpg", metadata={} if t is None else {"temperature": t,
                  "weather": "Sunny" if n % 2 else "Rain"})
        for n, t in enumerate(temps)
    ]


def _walk_order(workspace, params: dict) -> list[int]:
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({k: [v] for k, v in params.items()}, schema=schema)
    qs = selectors.explorer_items(query, schema=schema, workspace=workspace)
    out, after = [], None
    while True:
        page = fl.page_items(qs, query, schema=schema, limit=3, after=after)
        out += [i.pk for i in page.items]
        if not page.next_cursor:
            return out
        after = page.next_cursor


@pytest.mark.parametrize(
    "params",
    [{}, {"sort": "temperature"}, {"sort": "-temperature"}, {"sort": "title"},
     {"sort": "-title", "f": "weather:eq:Sunny"}, {"sort": "weather"}, {"sort": "-$width"}],
    ids=["id", "temp", "temp-desc", "title", "title-desc-filtered", "enum", "media-width"],
)
def test_next_and_previous_step_through_the_result_in_the_explorers_order(workspace, items, params):
    expected = _walk_order(workspace, params)
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({k: [v] for k, v in params.items()}, schema=schema)
    qs = selectors.explorer_items(query, schema=schema, workspace=workspace)
    for n, pk in enumerate(expected):
        near = fl.neighbours(qs, query, schema=schema, item_id=pk)
        assert near.found
        assert (near.previous.pk if near.previous else None) == (expected[n - 1] if n else None)
        assert (near.next.pk if near.next else None) == (expected[n + 1] if n + 1 < len(expected) else None)
        # The page that starts with the item, from its start cursor.
        page = fl.page_items(qs, query, schema=schema, limit=1, after=near.start_cursor)
        assert page.items[0].pk == pk


def test_an_item_outside_the_result_has_no_neighbours(workspace, items):
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({"f": ["weather:eq:Sunny"]}, schema=schema)
    qs = selectors.explorer_items(query, schema=schema, workspace=workspace)
    near = fl.neighbours(qs, query, schema=schema, item_id=items[1].pk)  # no weather
    assert not near.found and near.previous is None and near.next is None


def test_neighbours_take_a_bounded_number_of_queries(workspace, items, django_assert_max_num_queries):
    for n in range(60):
        make_item(items[0].folder, f"more_{n}.jpg", metadata={"temperature": float(n)})
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({"sort": ["-temperature"]}, schema=schema)
    qs = selectors.explorer_items(query, schema=schema, workspace=workspace)
    with django_assert_max_num_queries(5):
        fl.neighbours(qs, query, schema=schema, item_id=items[5].pk)


def _item_url(item, **params):
    from urllib.parse import urlencode

    return reverse("items:item", args=["acme", item.uid]) + ("?" + urlencode(params) if params else "")


def test_the_viewer_links_previous_and_next_with_the_explorer_state_kept(login, owner, workspace, items):
    order = _walk_order(workspace, {"sort": "-temperature", "f": "temperature:gt:6"})
    by_pk = {i.pk: i for i in items}
    current = by_pk[order[2]]
    response = login(owner).get(_item_url(current, sort="-temperature", f="temperature:gt:6", explore="1", view="grid"))
    assert response.status_code == 200
    nav = response.context["nav"]
    assert nav["previous"].pk == order[1] and nav["next"].pk == order[3]
    for key in ("previous_url", "next_url"):
        query = parse_qs(urlsplit(nav[key]).query)
        assert query["sort"] == ["-temperature"] and query["f"] == ["temperature:gt:6.0"]
        assert query["explore"] == ["1"] and query.get("view", ["grid"]) == ["grid"]  # the grid is the default view
    html = response.content.decode()
    assert f'data-next="{nav["next_url"].replace("&", "&amp;")}"' in html
    assert 'id="viewer-prev"' in html and 'id="viewer-back"' in html


def test_esc_goes_back_to_the_same_grid_page_scrolled_to_the_item(login, owner, workspace, items):
    for n in range(PAGE_SIZE + 5):
        make_item(items[0].folder, f"more_{n:03d}.jpg", metadata={"temperature": 100.0 + n})
    client = login(owner)
    first = client.get(reverse("explorer:explore", args=["acme"]), {"sort": "title"})
    next_cursor = parse_qs(urlsplit(first.context["next_url"]).query)["after"][0]
    second = client.get(reverse("explorer:explore", args=["acme"]), {"sort": "title", "after": next_cursor})
    row = second.context["rows"][3]["item"]
    link = f'{reverse("items:item", args=["acme", row.uid])}?{second.context["viewer_qs"]}'
    assert link.replace("&", "&amp;") in second.content.decode()
    nav = client.get(link).context["nav"]
    back = urlsplit(nav["back_url"])
    assert parse_qs(back.query)["after"] == [next_cursor] and back.fragment == f"item-{row.uid}"
    # Stepped to an item of another page: back lands on the page that starts with it.
    last = second.context["rows"][-1]["item"]
    nav = client.get(f'{reverse("items:item", args=["acme", last.uid])}?sort=title&explore=1').context["nav"]
    after = parse_qs(urlsplit(nav["back_url"]).query)["after"][0]
    page = client.get(reverse("explorer:explore", args=["acme"]), {"sort": "title", "after": after})
    assert page.context["rows"][0]["item"].pk == last.pk


def test_a_bad_filter_in_the_viewer_url_is_a_400_naming_it(login, owner, items):
    response = login(owner).get(_item_url(items[0], f="nosuch:has_any:1", explore="1"))  # no such operator for an undeclared key
    assert response.status_code == 400
    assert "nosuch" in str(response.context["nav_error"])
    assert 'id="nav-error"' in response.content.decode()


def test_the_plain_item_page_has_no_stepping(login, owner, items):
    response = login(owner).get(_item_url(items[0]))
    assert response.status_code == 200 and response.context["nav"] is None
    assert 'id="viewer-prev"' not in response.content.decode()


def test_owner_and_member_step_through_and_a_stranger_gets_404(login, owner, member, stranger, items):
    url = _item_url(items[2], sort="temperature", explore="1")
    assert login(owner).get(url).status_code == 200
    assert login(member).get(url).context["nav"]["found"]
    assert login(stranger).get(url).status_code == 404


def test_an_item_no_longer_in_the_result_says_so(login, owner, items):
    response = login(owner).get(_item_url(items[1], f="weather:eq:Sunny", explore="1"))
    assert response.status_code == 200 and not response.context["nav"]["found"]
    assert 'id="nav-note"' in response.content.decode()

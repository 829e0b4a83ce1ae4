"""Find similar: `similar_to=<uid>&k=` in the explorer and the API items list sorts the filtered result by the
built-in descriptor's distance to that item, nearest first (exact search in bounded batches, checked against a
brute-force reference); a stranger's item is never a query nor a result."""

from html import escape

import pytest
from django.urls import reverse

from metadata_site.media import lookalike
from tests.factories import make_folder, make_item, make_workspace

from .helpers import uploaded
from .lookalike_images import edited_copies, jpeg, make_random_items, reference, scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def random_items(workspace):
    return make_random_items(workspace)


def _explorer(client, **params) -> list[tuple[str, float]]:
    resp = client.get(reverse("explorer:explore", args=["acme"]), params)
    assert resp.status_code == 200, resp.content.decode()[:500]
    return [(row["item"].title, row["item"].distance) for row in resp.context["rows"]]


def test_the_explorer_order_is_the_brute_force_order_across_batches(monkeypatch, login, owner, random_items):
    monkeypatch.setattr(lookalike, "SEARCH_BATCH", 7)  # many batches, a heap kept across them
    query = random_items[40]
    got = _explorer(login(owner), similar_to=str(query.uid), k="25")
    assert got == reference(random_items, query, 25)
    assert got[0] == (query.title, 0.0)


def test_filters_are_kept(login, owner, random_items):
    query = random_items[40]  # 40 % 3 != 0: Sunny
    got = _explorer(login(owner), similar_to=str(query.uid), f="weather:eq:Sunny")
    assert got == reference(random_items, query, 50, keep=lambda it: it.client_metadata["weather"] == "Sunny")


def test_the_query_item_need_not_match_the_filters(login, owner, random_items):
    query = random_items[0]  # Rain
    got = _explorer(login(owner), similar_to=str(query.uid), f="weather:eq:Sunny", k="5")
    assert query.title not in [t for t, _ in got] and len(got) == 5


def test_the_grid_shows_the_distance_and_a_chip_that_removes_it(login, owner, random_items):
    query = random_items[3]
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(query.uid), "k": "3"})
    html = resp.content.decode()
    assert "distance 0.0" in html and f"similar to {query.title} (nearest 3)" in html


def test_real_edited_copies_come_first(login, owner, workspace):
    folder = make_folder(workspace)
    original = uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    for name, data in edited_copies(scene(0)).items():
        uploaded(workspace, data, f"{name}.img", folder=folder)
    for n in (1, 2, 3):
        uploaded(workspace, jpeg(scene(n)), f"other-{n}.jpg", folder=folder)
    titles = [t for t, _ in _explorer(login(owner), similar_to=str(original.uid))]
    assert titles[0] == "original.jpg"
    assert set(titles[1:4]) == {"resized.img", "requality.img", "cropped.img"}


@pytest.mark.parametrize("params, where", [
    ({"k": "0"}, "k: '0'"), ({"k": "501"}, "k: '501'"), ({"k": "ten"}, "k: 'ten'"),
])
def test_a_bad_k_is_a_400_naming_it(params, where, login, owner, random_items):
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(random_items[0].uid), **params})
    assert resp.status_code == 400 and escape(where) in resp.content.decode()


def test_a_bad_uid_and_an_item_without_descriptor_are_400s(login, owner, workspace):
    client = login(owner)
    resp = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": "nope"})
    assert resp.status_code == 400 and "similar_to: &#x27;nope&#x27; is not an item id" in resp.content.decode()
    plain = make_item(make_folder(workspace), "no-media")
    resp = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(plain.uid)})
    assert resp.status_code == 400 and "has no visual descriptor yet" in resp.content.decode()


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_only_members_can_search(who, status, request, login, random_items):
    resp = login(request.getfixturevalue(who)).get(
        reverse("explorer:explore", args=["acme"]), {"similar_to": str(random_items[0].uid)}
    )
    assert resp.status_code == status


def test_another_workspace_item_is_never_a_query_nor_a_result(login, owner, stranger, random_items):
    elsewhere = make_folder(make_workspace("elsewhere2"))
    query = random_items[5]
    twin = make_item(elsewhere, "twin", phash=query.phash, colour=query.colour)  # distance 0 to the query
    client = login(owner)
    got = _explorer(client, similar_to=str(query.uid), k="500")
    assert "twin" not in [t for t, _ in got] and len(got) == 150
    resp = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(twin.uid)})
    assert resp.status_code == 404


def test_the_viewer_links_to_similar_items_only_when_the_item_has_a_descriptor(login, owner, random_items, workspace):
    client = login(owner)
    item = random_items[0]
    html = client.get(reverse("items:item", args=["acme", item.uid])).content.decode()
    assert f"?similar_to={item.uid}" in html and "Similar items" in html
    plain = make_item(make_folder(workspace), "no-media")
    assert "Similar items" not in client.get(reverse("items:item", args=["acme", plain.uid])).content.decode()


def test_the_viewer_steps_through_the_similar_result_in_its_order(login, owner, random_items):
    query = random_items[40]
    ranked = _explorer(login(owner), similar_to=str(query.uid), k="6")
    titles = [t for t, _ in ranked]
    by_title = {it.title: it for it in random_items}
    second = by_title[titles[1]]
    resp = login(owner).get(reverse("items:item", args=["acme", second.uid]),
                            {"similar_to": str(query.uid), "k": "6", "explore": "1"})
    nav = resp.context["nav"]
    assert nav["found"] and nav["previous"].title == titles[0] and nav["next"].title == titles[2]
    assert f"similar_to={query.uid}" in nav["back_url"] and f"similar_to={query.uid}" in nav["next_url"]
    last = by_title[titles[-1]]
    nav = login(owner).get(reverse("items:item", args=["acme", last.uid]),
                           {"similar_to": str(query.uid), "k": "6", "explore": "1"}).context["nav"]
    assert nav["previous"].title == titles[-2] and nav["next"] is None


def test_the_sidebar_form_keeps_find_similar_when_filters_change(login, owner, random_items):
    query = random_items[4]
    client = login(owner)
    html = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(query.uid), "k": "7"}).content.decode()
    assert f'name="similar_to" value="{query.uid}"' in html and 'name="k" value="7"' in html
    resp = client.get(reverse("explorer:explore", args=["acme"]),
                      {"apply": "1", "similar_to": str(query.uid), "k": "7", "f": "weather:eq:Sunny"})
    assert resp.status_code == 302 and f"similar_to={query.uid}" in resp["Location"] and "k=7" in resp["Location"]


def test_selecting_a_similar_result_selects_its_k_items_not_the_whole_filter(login, owner, random_items):
    query = random_items[4]
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]),
                            {"similar_to": str(query.uid), "k": "5", "select": "all"})
    html = resp.content.decode()
    assert resp.context["select_mode"] == "page" and 'id="select-all"' not in html
    assert 'name="selection" value="ids"' in html and html.count('type="checkbox" name="item"') == 5


def test_a_search_past_its_bound_is_refused_with_the_reason_and_a_narrower_one_answers(settings, login, owner,
                                                                                   random_items):
    query = random_items[0]
    count = len(random_items)
    settings.SIMILAR_SCAN_MAX = count - 1
    client = login(owner)
    resp = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(query.uid)})
    assert resp.status_code == 400
    assert escape(lookalike.SCAN_TOO_LARGE.format(limit=count - 1)) in resp.content.decode()
    api = client.get(f"/api/w/acme/items?similar_to={query.uid}")
    assert api.status_code == 400 and f"more than {count - 1:,} pictures to compare" in api.content.decode()
    settings.SIMILAR_SCAN_MAX = count
    assert len(_explorer(client, similar_to=str(query.uid), k="5")) == 5

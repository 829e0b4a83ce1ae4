"""The API items list with `similar_to=<uid>&k=`: the explorer's "find similar" (same order as a brute-force
reference, filters kept, distances given); a stranger's item is never a query nor a result."""

import pytest

from tests.factories import make_folder, make_item, make_workspace
from tests.media.lookalike_images import make_random_items, reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def random_items(workspace):
    return make_random_items(workspace)


def test_the_api_lists_the_same_order_with_distances(api_as, member, random_items):
    query = random_items[7]
    body = api_as(member).get(f"/api/w/acme/items?similar_to={query.uid}&k=30&f=weather:eq:Sunny").json()
    expected = reference(random_items, query, 30, keep=lambda it: it.client_metadata["weather"] == "Sunny")
    assert [(r["title"], r["distance"]) for r in body["results"]] == expected
    assert body["count"] == 30 and body["next"] is None


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_api_permissions(who, status, request, api_as, random_items):
    resp = api_as(request.getfixturevalue(who)).get(f"/api/w/acme/items?similar_to={random_items[0].uid}")
    assert resp.status_code == status


def test_api_another_workspace_item_is_a_404_and_a_bad_k_a_4xx(api_as, owner, random_items):
    twin = make_item(make_folder(make_workspace("elsewhere2")), "twin", phash=random_items[0].phash,
                     colour=random_items[0].colour)
    client = api_as(owner)
    resp = client.get(f"/api/w/acme/items?similar_to={twin.uid}")
    assert resp.status_code == 404 and resp.json()["errors"][0]["loc"] == ["query", "similar_to"]
    resp = client.get(f"/api/w/acme/items?similar_to={random_items[0].uid}&k=501")
    assert 400 <= resp.status_code < 500

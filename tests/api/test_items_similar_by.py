"""The API items list with `similar_to=<uid>&by=<embedding field>&k=`: the same order as a brute-force reference,
distances given, clear 400s, and a stranger's item never a query nor a result (owner / member / stranger)."""

import pytest

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.media import lookalike
from tests.factories import make_folder, make_item, make_schema, make_workspace
from tests.media.test_similar_by_embedding import DIM, _reference, _setup

pytestmark = pytest.mark.django_db


def test_the_api_takes_by_and_gives_distances(api_as, member, owner, workspace):
    items, matrix = _setup(workspace, owner, distance="euclidean")
    body = api_as(member).get(f"/api/w/acme/items?similar_to={items[3].uid}&by=emb&k=5").json()
    assert [(r["title"], r["distance"]) for r in body["results"]] == _reference(items, matrix, 3, 5, "euclidean")


def test_an_unknown_field_or_an_item_without_a_vector_is_a_clear_400(api_as, owner, workspace):
    items, _ = _setup(workspace, owner, n=5)
    bare = make_item(items[0].folder, "bare")
    resp = api_as(owner).get(f"/api/w/acme/items?similar_to={items[0].uid}&by=weather")
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["msg"] == lookalike.BAD_BY.format(value="weather")
    resp = api_as(owner).get(f"/api/w/acme/items?similar_to={bare.uid}&by=emb")
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["msg"] == lookalike.NO_VECTOR.format(uid=bare.uid, field="emb")


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_permissions(who, status, request, api_as, owner, workspace):
    items, _ = _setup(workspace, owner, n=10)
    resp = api_as(request.getfixturevalue(who)).get(f"/api/w/acme/items?similar_to={items[0].uid}&by=emb")
    assert resp.status_code == status


def test_another_workspace_item_is_never_a_query_nor_a_result(api_as, owner, workspace):
    items, matrix = _setup(workspace, owner, n=20)
    other = make_workspace("elsewhere2")
    make_schema(other, [{"name": "emb", "type": "embedding", "dimension": DIM}])
    twin = make_item(make_folder(other), "twin")
    item_metadata_write(workspace=other, user=None, mode=MODE_MERGE, updates={twin.pk: {"emb": matrix[0].tolist()}})
    resp = api_as(owner).get(f"/api/w/acme/items?similar_to={twin.uid}&by=emb")
    assert resp.status_code == 404
    titles = [r["title"] for r in api_as(owner).get(f"/api/w/acme/items?similar_to={items[0].uid}&by=emb&k=500").json()["results"]]
    assert "twin" not in titles and len(titles) == 20

"""The explorer's ``$map:box`` condition ("inside this box of this embedding map"): parsed from the URL and the JSON
form and written back the same way, compiled for the database in use and checked against the reference evaluator
on random boxes (brute force over the stored points), combined with other conditions, refused with the reason when
malformed, and never matching another workspace's items."""

import html
import random

import numpy as np
import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.test import Client
from django.urls import reverse

from metadata_site.accounts.services import api_token_create
from metadata_site.explorer import query as fl
from metadata_site.explorer.query.reference import RefItem, evaluate
from metadata_site.items.models import Item
from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.media import embedding_map as em
from metadata_site.media.models import MapPoint
from metadata_site.schemas.selectors import schema_current
from tests.explorer.helpers import assert_database_returns
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "emb", "type": "embedding", "dimension": 6, "distance": "euclidean"},
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
]


def _mapped(workspace, owner, n=60, seed=3):
    make_schema(workspace, FIELDS)
    folder = make_folder(workspace)
    rng = np.random.default_rng(seed)
    items = [make_item(folder, f"p{i:02d}", metadata={"weather": "Sunny" if i % 2 else "Rain"}) for i in range(n)]
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={it.pk: {"emb": rng.normal(size=6).tolist()} for it in items})
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    return items, row


def _ref_items(workspace) -> list[RefItem]:
    points = {pk: (x, y) for pk, x, y in MapPoint.objects.filter(map__workspace=workspace).values_list("item_id", "x", "y")}
    return [RefItem(id=it.pk, title=it.title, kind=it.kind, metadata=it.client_metadata,
                    map_points={("emb", "pca"): points[it.pk]} if it.pk in points else {})
            for it in Item.objects.filter(workspace=workspace)]


def test_random_boxes_match_the_reference_and_a_brute_force_over_the_points(owner, workspace):
    _mapped(workspace, owner)
    schema = schema_current(workspace=workspace)
    refs = _ref_items(workspace)
    xs = [r.map_points[("emb", "pca")][0] for r in refs]
    ys = [r.map_points[("emb", "pca")][1] for r in refs]
    rnd = random.Random(5)
    for _ in range(25):
        x0, x1 = sorted(rnd.uniform(min(xs), max(xs)) for _ in range(2))
        y0, y1 = sorted(rnd.uniform(min(ys), max(ys)) for _ in range(2))
        extra = rnd.choice(["", "f=weather:eq:Rain"])
        raw = {"f": [f"$map:box:emb/pca/{x1},{y1},{x0},{y0}"] + ([extra[2:]] if extra else [])}  # corners swapped
        query = fl.parse_query_string(raw, schema=schema)
        got = sorted(fl.items_matching(query, schema=schema, workspace=workspace).values_list("pk", flat=True))
        brute = sorted(r.id for r in refs if x0 <= r.map_points[("emb", "pca")][0] <= x1
                       and y0 <= r.map_points[("emb", "pca")][1] <= y1
                       and (not extra or r.metadata["weather"] == "Rain"))
        assert got == brute == sorted(evaluate(refs, query, schema=schema))


def test_the_box_edges_are_included(owner, workspace):
    items, _ = _mapped(workspace, owner, n=10)
    schema = schema_current(workspace=workspace)
    point = MapPoint.objects.get(item=items[3])
    query = fl.parse_query_string({"f": [f"$map:box:emb/pca/{point.x!r},{point.y!r},{point.x!r},{point.y!r}"]},
                                  schema=schema)
    assert list(fl.items_matching(query, schema=schema, workspace=workspace).values_list("pk", flat=True)) == [items[3].pk]


def test_the_condition_round_trips_through_the_url_and_the_json_form(owner, workspace):
    _mapped(workspace, owner, n=5)
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({"f": ["$map:box:emb/pca/0.5,-1e-05,-2,3"]}, schema=schema)
    (condition,) = query.all
    assert condition.value == ("emb", "pca", -2.0, -1e-05, 0.5, 3.0)
    assert condition.to_param() == "$map:box:emb/pca/-2.0,-1e-05,0.5,3.0"
    assert fl.parse_query_string(dict(f=[condition.to_param()]), schema=schema) == query
    assert fl.parse_json(query.to_json(), schema=schema) == query
    assert fl.describe(condition) == "in a box of the PCA map of emb (-2, -1e-05, 0.5, 3)"


@pytest.mark.parametrize("raw, reason", [
    ("$map:box:emb/pca/1,2,3", "is not a box of a map"),
    ("$map:box:emb/tsne/1,2,3,4", "is not a box of a map"),
    ("$map:box:emb/pca/1,2,3,nan", "is not a box of a map"),
    ("$map:box:weather/pca/1,2,3,4", "'weather' is not an embedding field of the schema"),
    ("$map:eq:emb/pca/1,2,3,4", "not allowed"),
])
def test_a_malformed_box_is_a_400_with_the_reason(login, owner, workspace, raw, reason):
    _mapped(workspace, owner, n=3)
    resp = login(owner).get(reverse("explorer:explore", args=[workspace.slug]), {"f": raw})
    assert resp.status_code == 400
    assert reason in html.unescape(resp.content.decode())


def test_the_explorer_and_the_api_list_exactly_the_boxed_items_with_a_removable_chip(login, owner, workspace):
    items, row = _mapped(workspace, owner, n=40)
    box = f"{row.x_min},{row.y_min},{(row.x_min + row.x_max) / 2},{row.y_max}"
    inside = sorted(MapPoint.objects.filter(map=row, x__lte=(row.x_min + row.x_max) / 2).values_list("item_id", flat=True))
    client = login(owner)
    resp = client.get(reverse("explorer:explore", args=[workspace.slug]), {"f": f"$map:box:emb/pca/{box}"})
    assert resp.status_code == 200
    assert sorted(r["item"].pk for r in resp.context["rows"]) == inside
    chip = next(c for c in resp.context["chips"] if c["label"].startswith("in a box of the PCA map of emb"))
    assert "%24map" not in chip["remove"]
    token = api_token_create(user=owner, name="map")[1]
    api = Client().get(f"/api/w/{workspace.slug}/items", {"f": f"$map:box:emb/pca/{box}", "limit": 100},
                       headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.content[:300]
    by_uid = {str(it.uid): it.pk for it in items}
    assert api.json()["count"] == len(inside)
    assert sorted(by_uid[i["uid"]] for i in api.json()["results"]) == inside


def test_another_workspaces_map_never_matches(owner, workspace):
    _mapped(workspace, owner, n=20)
    other_owner = make_user("olga")
    other = make_workspace("other", members={other_owner: "admin"})
    make_schema(other, FIELDS)
    make_item(make_folder(other), "theirs")
    schema = schema_current(workspace=other)
    query = fl.parse_query_string({"f": ["$map:box:emb/pca/-1e9,-1e9,1e9,1e9"]}, schema=schema)
    assert not fl.items_matching(query, schema=schema, workspace=other).exists()


@pytest.mark.parametrize("kind", ["frozen", "live"])
def test_select_all_matching_a_box_makes_a_collection_of_exactly_its_items(login, owner, workspace, kind):
    from metadata_site.collections.models import Collection

    _, row = _mapped(workspace, owner, n=30)
    half = (row.y_min + row.y_max) / 2
    condition = f"$map:box:emb/pca/{row.x_min},{row.y_min},{row.x_max},{half}"
    resp = login(owner).post(reverse("collections:add-items", args=[workspace.slug]), {
        "selection": "filter", "f": [condition, "weather:eq:Sunny"], "target": "new", "title": "Boxed", "kind": kind})
    assert resp.status_code == 302, resp.content.decode()[:500]
    collection = Collection.objects.get(title="Boxed")
    want = sorted(MapPoint.objects.filter(map=row, y__lte=half, item__client_metadata__weather="Sunny")
                  .values_list("item_id", flat=True))
    schema = schema_current(workspace=workspace)
    query = fl.parse_query_string({"scope": [f"collection:{collection.pk}"]}, schema=schema)
    assert sorted(fl.items_matching(query, schema=schema, workspace=workspace).values_list("pk", flat=True)) == want


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the typed projection is PostgreSQL's")
def test_the_typed_projection_counts_a_box_as_the_json_path_does(owner, workspace):
    from metadata_site.explorer import projection

    _, row = _mapped(workspace, owner, n=40)
    schema = schema_current(workspace=workspace)
    assert projection.build(workspace_id=workspace.pk, schema=schema) == "built"
    reader = projection.ProjectionCompiler.for_workspace(workspace, schema)
    half = (row.x_min + row.x_max) / 2
    for raw in ([f"$map:box:emb/pca/{row.x_min},{row.y_min},{half},{row.y_max}"],
                [f"$map:box:emb/pca/{half},{row.y_min},{row.x_max},{row.y_max}", "weather:eq:Rain"]):
        query = fl.parse_query_string({"f": raw}, schema=schema)
        assert reader.count(query) == fl.items_matching(query, schema=schema, workspace=workspace).count() > 0


def test_the_box_selects_every_item_inside_it_beyond_the_map_s_drawing_cap(monkeypatch, owner, workspace):
    """The map draws at most POINTS_MAX points (a sample when the box holds more); the filter is not the drawing:
    it selects every item whose stored point lies in the box, counted and paged like any other filter."""
    _, row = _mapped(workspace, owner, n=80)
    monkeypatch.setattr(em, "POINTS_MAX", 5)
    schema = schema_current(workspace=workspace)
    half = (row.x_min + row.x_max) / 2
    for box, extra in (((row.x_min, row.y_min, row.x_max, row.y_max), []),
                       ((row.x_min, row.y_min, half, row.y_max), []),
                       ((half, row.y_min, row.x_max, row.y_max), ["weather:eq:Rain"])):
        points = MapPoint.objects.filter(map=row, x__gte=box[0], y__gte=box[1], x__lte=box[2], y__lte=box[3])
        if extra:
            points = points.filter(item__client_metadata__weather="Rain")
        inside = sorted(points.values_list("item_id", flat=True))
        drawn = em.map_points(row, box=box, items=Item.objects.filter(client_metadata__weather="Rain") if extra else None)
        assert drawn.sampled and len(drawn.ids) < len(inside)  # past the cap: the map draws a sample ...
        assert set(drawn.ids.tolist()) <= set(inside)
        query = fl.parse_query_string({"f": ["$map:box:emb/pca/" + ",".join(repr(v) for v in box)] + extra},
                                      schema=schema)
        assert_database_returns(inside, query, schema=schema, workspace=workspace, page_size=7)  # ... the filter all

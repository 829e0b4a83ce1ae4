"""The embedding map's views: the page, its binary points (sampled, boxed, filtered, coloured), one point's item, and
starting a build. Owner / member / stranger in every permission test; a bad parameter is a 400 with the reason and
changes nothing."""

import html

import numpy as np
import pytest
from django.urls import reverse

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media import embedding_map as em
from metadata_site.media.models import EmbeddingMap, MapPoint
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db


def _mapped(workspace, owner, n=30):
    make_schema(workspace, [
        {"name": "emb", "type": "embedding", "dimension": 4, "distance": "cosine"},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
        {"name": "tags", "type": "enum", "options": ["a", "b"], "is_multi": True},
        {"name": "note", "type": "string"},
    ])
    folder = make_folder(workspace)
    rng = np.random.default_rng(2)
    items = [make_item(folder, f"i{i:02d}", metadata={"weather": "Sunny" if i % 2 else "Rain"}) for i in range(n)]
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={it.pk: {"emb": rng.normal(size=4).tolist()} for it in items})
    return items


def _url(name, workspace):
    return reverse(f"media:{name}", args=[workspace.slug])


def _decode(resp):
    n = int(resp["X-Map-Count"])
    body = resp.content
    assert len(body) == 13 * n
    x = np.frombuffer(body, dtype="<f4", count=n)
    y = np.frombuffer(body, dtype="<f4", count=n, offset=4 * n)
    ids = np.frombuffer(body, dtype="<i4", count=n, offset=8 * n)
    colours = np.frombuffer(body, dtype=np.uint8, count=n, offset=12 * n)
    return x, y, ids, colours


def test_an_editor_builds_the_map_and_a_member_reads_its_points_while_a_stranger_gets_404(
        login, owner, editor, viewer, stranger, workspace):
    items = _mapped(workspace, owner)
    assert login(viewer).post(_url("map-build", workspace), {"field": "emb", "method": "pca"}).status_code == 403
    assert login(stranger).post(_url("map-build", workspace), {"field": "emb", "method": "pca"}).status_code == 404
    assert not EmbeddingMap.objects.exists()
    resp = login(editor).post(_url("map-build", workspace), {"field": "emb", "method": "pca", "f": "weather:eq:Rain"})
    assert resp.status_code == 302 and "f=weather%3Aeq%3ARain" in resp["Location"]
    row = EmbeddingMap.objects.get()
    assert row.status == TaskStatus.COMPLETED and row.size == len(items) and row.created_by == editor

    for user in (owner, viewer):
        page = login(user).get(_url("map", workspace), {"field": "emb"})
        assert page.status_code == 200 and b'id="map-canvas"' in page.content
        x, y, ids, _ = _decode(login(user).get(_url("map-points", workspace), {"field": "emb", "method": "pca"}))
        assert sorted(ids.tolist()) == sorted(it.pk for it in items)
    stored = {p.item_id: (p.x, p.y) for p in MapPoint.objects.all()}
    assert all(abs(stored[i][0] - xi) < 1e-5 and abs(stored[i][1] - yi) < 1e-5
               for i, xi, yi in zip(ids.tolist(), x.tolist(), y.tolist(), strict=True))
    for name in ("map", "map-points"):
        assert login(stranger).get(_url(name, workspace), {"field": "emb"}).status_code == 404
    assert login(stranger).get(_url("map-point", workspace), {"id": items[0].pk}).status_code == 404


def test_the_page_shows_a_build_button_to_editors_only(login, owner, viewer, workspace):
    _mapped(workspace, owner, n=3)
    assert b'id="build-map"' in login(owner).get(_url("map", workspace), {"field": "emb"}).content
    page = login(viewer).get(_url("map", workspace), {"field": "emb"})
    assert b'id="build-map"' not in page.content and b"an editor can build it" in page.content


def test_the_points_follow_the_filters_the_box_and_the_colour(login, owner, workspace):
    items = _mapped(workspace, owner)
    em.map_queue(workspace=workspace, field="emb", method="pca")
    row = EmbeddingMap.objects.get()
    client = login(owner)
    _, _, ids, colours = _decode(client.get(_url("map-points", workspace),
                                            {"field": "emb", "f": "weather:eq:Rain", "color": "weather"}))
    rain = sorted(it.pk for it in items if it.client_metadata["weather"] == "Rain")
    assert sorted(ids.tolist()) == rain and set(colours.tolist()) == {2}
    half = (row.x_min + row.x_max) / 2
    x, _, ids, _ = _decode(client.get(_url("map-points", workspace),
                                      {"field": "emb", "box": f"{row.x_min},{row.y_min},{half},{row.y_max}"}))
    assert sorted(ids.tolist()) == sorted(MapPoint.objects.filter(x__lte=half).values_list("item_id", flat=True))


def test_the_points_are_sampled_past_the_limit(monkeypatch, login, owner, workspace):
    _mapped(workspace, owner, n=40)
    em.map_queue(workspace=workspace, field="emb", method="pca")
    monkeypatch.setattr(em, "POINTS_MAX", 10)
    resp = login(owner).get(_url("map-points", workspace), {"field": "emb"})
    assert resp["X-Map-Sampled"] == "1" and int(resp["X-Map-Count"]) < 40


@pytest.mark.parametrize("params, reason", [
    ({"field": "nosuch"}, "field: 'nosuch' is not an embedding field of the schema"),
    ({"field": "weather"}, "field: 'weather' is not an embedding field of the schema"),
    ({"field": "emb", "method": "tsne"}, "method: 'tsne' is not a map method (one of: pca, umap)"),
    ({"field": "emb", "color": "tags"}, "color: 'tags' is not an enum, integer or float field of the schema"),
    ({"field": "emb", "color": "note"}, "color: 'note' is not an enum, integer or float field of the schema"),
    ({"field": "emb", "f": "nosuch:gt:x"}, "nosuch"),
])
def test_a_bad_parameter_is_a_400_with_the_reason(login, owner, viewer, workspace, params, reason):
    _mapped(workspace, owner, n=3)
    em.map_queue(workspace=workspace, field="emb", method="pca")
    for name in ("map", "map-points"):
        resp = login(viewer).get(_url(name, workspace), params)
        assert resp.status_code == 400
        assert reason in html.unescape(resp.content.decode())


def test_a_workspace_without_an_embedding_field_gets_the_reason(login, owner, workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    resp = login(owner).get(_url("map", workspace))
    assert resp.status_code == 400
    assert "field: &#x27;&#x27; is not an embedding field of the schema" in resp.content.decode()


def test_points_of_a_map_not_built_and_a_bad_box_are_400s(login, owner, workspace):
    _mapped(workspace, owner, n=3)
    client = login(owner)
    resp = client.get(_url("map-points", workspace), {"field": "emb", "method": "umap"})
    assert resp.status_code == 400 and resp.content.decode() == "the UMAP map of 'emb' is not built yet"
    em.map_queue(workspace=workspace, field="emb", method="pca")
    resp = client.get(_url("map-points", workspace), {"field": "emb", "box": "0,0,1"})
    assert resp.status_code == 400 and resp.content.decode() == "box: '0,0,1' is not four finite numbers x0,y0,x1,y1"


def test_a_bad_build_request_is_a_400_and_queues_nothing(login, owner, editor, workspace):
    _mapped(workspace, owner, n=3)
    resp = login(editor).post(_url("map-build", workspace), {"field": "emb", "method": "tsne"})
    assert resp.status_code == 400 and "not a map method" in resp.content.decode()
    resp = login(owner).post(_url("map-build", workspace), {"field": "nosuch"})
    assert resp.status_code == 400 and "not an embedding field" in resp.content.decode()
    assert not EmbeddingMap.objects.exists()


def test_a_failed_build_shows_its_reason_on_the_page(login, owner, workspace):
    make_schema(workspace, [{"name": "emb", "type": "embedding", "dimension": 4, "distance": "cosine"}])
    em.map_queue(workspace=workspace, field="emb", method="pca")
    page = login(owner).get(_url("map", workspace), {"field": "emb"})
    assert page.status_code == 200
    assert "the field &#x27;emb&#x27; has no 4-d vectors to map" in page.content.decode()
    assert b'id="map-canvas"' not in page.content


def test_a_point_shows_its_item_to_members_only(login, owner, viewer, stranger, workspace):
    items = _mapped(workspace, owner, n=2)
    for user in (owner, viewer):
        data = login(user).get(_url("map-point", workspace), {"id": items[1].pk}).json()
        assert data["title"] == items[1].title and data["url"].endswith(f"/items/{items[1].uid}/")
    assert login(stranger).get(_url("map-point", workspace), {"id": items[1].pk}).status_code == 404
    assert login(owner).get(_url("map-point", workspace), {"id": "x"}).status_code == 400


def test_the_tasks_page_lists_the_map_build(login, owner, workspace):
    _mapped(workspace, owner, n=3)
    em.map_queue(workspace=workspace, field="emb", method="pca")
    page = login(owner).get(reverse("workspaces:tasks", args=[workspace.slug]))
    assert page.status_code == 200 and "PCA map of emb" in page.content.decode()


def test_a_running_build_shows_its_progress_and_the_page_polls_it(login, owner, workspace):
    _mapped(workspace, owner, n=3)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    EmbeddingMap.objects.filter(pk=row.pk).update(status=TaskStatus.RUNNING, done=45)
    client = login(owner)
    page = client.get(_url("map", workspace), {"field": "emb"}).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'aria-valuenow="45"' in page
    partial = client.get(_url("map", workspace), {"field": "emb"}, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="map-status"') and "<html" not in partial


def test_a_build_whose_worker_died_is_queued_again_by_recovery(owner, workspace):
    from metadata_site.imports.recovery import recover_task_rows

    items = _mapped(workspace, owner, n=5)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    EmbeddingMap.objects.filter(pk=row.pk).update(status=TaskStatus.RUNNING, done=45, task_result_id="gone")
    MapPoint.objects.all().delete()
    assert [r.task_path for r in recover_task_rows()] == ["media.EmbeddingMap"]
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED and MapPoint.objects.filter(map=row).count() == len(items)

"""Find similar by an embedding field (`similar_to=<uid>&by=<field>&k=`): the filtered result sorted by the field's
distance, nearest first, with the distance shown; exact search in batches checked against a brute-force
reference (cosine and euclidean), the approximate index (usearch) with filters applied, and a stranger's item
never a query nor a result (owner / member / stranger)."""

import re
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media import lookalike, vectors
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db

DIM = 16


def _setup(workspace, owner, *, distance="cosine", n=120, seed=22):
    make_schema(workspace, [
        {"name": "emb", "type": "embedding", "dimension": DIM, "distance": distance},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    ])
    folder = make_folder(workspace)
    rng = np.random.default_rng(seed)
    items = [make_item(folder, f"v{i:03d}", metadata={"weather": "Sunny" if i % 3 else "Rain"}) for i in range(n)]
    matrix = rng.normal(size=(n, DIM)).astype(np.float32)
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={it.pk: {"emb": matrix[i].tolist()} for i, it in enumerate(items)})
    return items, matrix


def _reference(items, matrix, q: int, k: int, distance: str, keep=lambda it: True) -> list[tuple[str, float]]:
    m = matrix.astype(np.float64)
    if distance == "cosine":
        d = 1 - (m @ m[q]) / (np.linalg.norm(m, axis=1) * np.linalg.norm(m[q]))
    else:
        d = np.linalg.norm(m - m[q], axis=1)
    scored = sorted((round(float(d[i]), 4), it.pk, it.title) for i, it in enumerate(items) if keep(it))
    return [(title, dist) for dist, _, title in scored[:k]]



def _explorer(client, **params):
    resp = client.get(reverse("explorer:explore", args=["acme"]), params)
    assert resp.status_code == 200, resp.content.decode()[:800]
    return [(row["item"].title, row["item"].distance) for row in resp.context["rows"]]


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_exact_search_is_the_brute_force_order_across_batches(monkeypatch, login, owner, workspace, distance):
    items, matrix = _setup(workspace, owner, distance=distance)
    monkeypatch.setattr(vectors, "SEARCH_BATCH", 7)
    got = _explorer(login(owner), similar_to=str(items[40].uid), by="emb", k="25")
    assert got == _reference(items, matrix, 40, 25, distance)
    assert got[0] == (items[40].title, 0.0)


def test_filters_are_kept(login, owner, workspace):
    items, matrix = _setup(workspace, owner)
    got = _explorer(login(owner), similar_to=str(items[5].uid), by="emb", f="weather:eq:Rain", k="10")
    assert got == _reference(items, matrix, 5, 10, "cosine", keep=lambda it: it.client_metadata["weather"] == "Rain")


@pytest.fixture
def exact_calls(monkeypatch):
    """How many times the exact scan ran (the real one: this only counts)."""
    calls = []
    real = vectors.exact_nearest

    def counted(**kwargs):
        calls.append(kwargs["k"])
        return real(**kwargs)

    monkeypatch.setattr(vectors, "exact_nearest", counted)
    return calls


def test_the_index_answers_with_filters_and_fresh_vectors(settings, tmp_path, login, owner, workspace, exact_calls):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=300)
    row = vectors.index_build(workspace_id=workspace.pk, field="emb")
    assert row.status == TaskStatus.COMPLETED and row.size == 300 and row.percent == 100
    # A vector written after the build (the nearest to the query) is found, scored exactly.
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={items[299].pk: {"emb": (matrix[10] * 1.01).tolist()}})
    matrix[299] = matrix[10] * 1.01
    got = _explorer(login(owner), similar_to=str(items[10].uid), by="emb", k="20", f="weather:eq:Sunny")
    expected = _reference(items, matrix, 10, 20, "cosine", keep=lambda it: it.client_metadata["weather"] == "Sunny")
    assert got[:2] == expected[:2] and got[1][0] == items[299].title
    recall = len({t for t, _ in got} & {t for t, _ in expected}) / 20
    assert recall >= 0.9
    assert all(d == dict(expected).get(t, d) for t, d in got)  # exact distances
    assert exact_calls == []  # the index answered


def test_with_the_index_a_filter_keeping_a_third_gives_the_exact_result(settings, tmp_path, login, owner, workspace,
                                                                        exact_calls):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=300)
    vectors.index_build(workspace_id=workspace.pk, field="emb")
    got = _explorer(login(owner), similar_to=str(items[0].uid), by="emb", k="50", f="weather:eq:Rain")
    expected = _reference(items, matrix, 0, 50, "cosine", keep=lambda it: it.client_metadata["weather"] == "Rain")
    # An approximate index: its answer is held to a recall (it once missed a neighbour in a full run), every
    # distance shown is exact, and the nearest (the item itself) comes first.
    assert len(got) == len(expected) and got[0] == expected[0]
    assert len({t for t, _ in got} & {t for t, _ in expected}) >= 0.9 * len(expected)
    assert all(d == dict(expected).get(t, d) for t, d in got)
    assert all(it.client_metadata["weather"] == "Rain" for it in items if it.title in {t for t, _ in got})
    assert exact_calls == []


def test_a_filter_keeping_few_of_the_neighbours_falls_back_to_the_exact_scan(settings, tmp_path, login, owner, workspace,
                                                                             exact_calls):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=300)
    vectors.index_build(workspace_id=workspace.pk, field="emb")
    got = _explorer(login(owner), similar_to=str(items[150].uid), by="emb", k="20", f="title:startswith:v00")  # v000 … v009
    assert got == _reference(items, matrix, 150, 20, "cosine", keep=lambda it: it.title.startswith("v00"))
    assert len(got) == 10 and exact_calls == [20]


def test_without_its_index_file_the_exact_scan_answers(settings, tmp_path, login, owner, workspace, exact_calls):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=40)
    row = vectors.index_build(workspace_id=workspace.pk, field="emb")
    (tmp_path / row.file_name).unlink()
    vectors._loaded.clear()
    got = _explorer(login(owner), similar_to=str(items[1].uid), by="emb", k="5")
    assert got == _reference(items, matrix, 1, 5, "cosine") and exact_calls == [5]


def test_an_item_without_a_vector_is_a_clear_400(login, owner, workspace):
    items, _ = _setup(workspace, owner, n=5)
    bare = make_item(items[0].folder, "bare")
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(bare.uid), "by": "emb"})
    assert resp.status_code == 400
    assert lookalike.NO_VECTOR.format(uid=bare.uid, field="emb").replace("'", "&#x27;") in resp.content.decode()


def test_the_viewer_steps_through_the_result_in_distance_order(login, owner, workspace):
    items, matrix = _setup(workspace, owner, n=30)
    order = [t for t, _ in _reference(items, matrix, 4, 5, "cosine")]
    by_title = {it.title: it for it in items}
    resp = login(owner).get(reverse("items:item", args=["acme", by_title[order[1]].uid]),
                            {"similar_to": str(items[4].uid), "by": "emb", "k": "5", "explore": "1"})
    assert resp.status_code == 200
    nav = resp.context["nav"]
    assert (nav["previous"].title, nav["next"].title) == (order[0], order[2])
    assert "by=emb" in nav["next_url"]


def test_an_exact_scan_past_its_bound_is_refused_with_the_reason_in_the_explorer_and_the_api(settings, login, owner,
                                                                                          workspace):
    settings.VECTOR_EXACT_SCAN_MAX = 50  # no index: 120 candidates would be compared exactly
    items, _ = _setup(workspace, owner)
    client = login(owner)
    page = client.get(reverse("explorer:explore", args=["acme"]), {"similar_to": str(items[0].uid), "by": "emb"})
    assert page.status_code == 400  # the explorer's answer to a refused filter: the page, with the reason
    assert vectors.EXACT_SCAN_TOO_LARGE.format(field="emb", limit=50) in page.content.decode().replace("&#x27;", "'")
    api = client.get(f"/api/w/acme/items?similar_to={items[0].uid}&by=emb")
    assert api.status_code == 400 and "more than 50 items to compare exactly" in api.content.decode()
    # A filter that keeps fewer candidates than the bound is answered.
    assert len(_explorer(client, similar_to=str(items[0].uid), by="emb", k="10", f="title:startswith:v00")) == 10


# --- the index's answer: exact distances, candidates only, whatever the index holds ----------------------------------


def _candidates(workspace, f: str | None = None):
    from django.http import QueryDict

    from metadata_site.explorer.query import items_matching, parse_query_string
    from metadata_site.schemas.selectors import schema_current

    schema = schema_current(workspace=workspace)
    return items_matching(parse_query_string(QueryDict(f"f={f}" if f else ""), schema=schema), schema=schema,
                          workspace=workspace)


def _through_index(workspace, matrix, q, k: int, f: str | None = None):
    field = vectors.Field(name="emb", dimension=DIM, distance="cosine")
    return vectors.nearest_by_vector(_candidates(workspace, f), workspace=workspace.pk, field=field,
                                     query=matrix[q], k=k)


def _exact_distances(matrix, q: int, pks: list[int], items) -> dict[int, float]:
    m = matrix.astype(np.float64)
    d = 1 - (m @ m[q]) / (np.linalg.norm(m, axis=1) * np.linalg.norm(m[q]))
    return {it.pk: float(d[i]) for i, it in enumerate(items) if it.pk in pks}


@pytest.mark.parametrize("f", [None, "weather:eq:Rain"])
def test_the_index_answers_with_candidates_only_at_their_exact_distances_nearest_first_and_finds_the_brute_force_ones(
        settings, tmp_path, owner, workspace, exact_calls, f):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=400, seed=5)
    vectors.index_build(workspace_id=workspace.pk, field="emb")
    keep = (lambda it: True) if f is None else (lambda it: it.client_metadata["weather"] == "Rain")
    for q in (0, 7, 123, 399):
        got = _through_index(workspace, matrix, q, 30, f)
        expected = _reference(items, matrix, q, 30, "cosine", keep=keep)
        by_pk = {it.pk: it for it in items}
        assert len(got) == 30 and all(keep(by_pk[pk]) for _, pk in got)
        assert [d for d, _ in got] == sorted(d for d, _ in got)
        reference = _exact_distances(matrix, q, [pk for _, pk in got], items)
        assert all(abs(d - reference[pk]) < 1e-12 for d, pk in got)
        # The index is approximate, and its graph depends on how the build's threads interleaved: most of the true
        # neighbours, not always all (at 400 vectors it usually finds all 30; recall is measured in the bench).
        assert len({by_pk[pk].title for _, pk in got} & {t for t, _ in expected}) >= 0.8 * 30
    assert exact_calls == []


def test_a_stale_index_never_shows_a_wrong_distance_or_a_non_candidate(settings, tmp_path, owner, workspace,
                                                                       exact_calls):
    from metadata_site.media.models import Embedding

    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=300, seed=9)
    row = vectors.index_build(workspace_id=workspace.pk, field="emb")
    before = [pk for _, pk in _through_index(workspace, matrix, 0, 10, "weather:eq:Sunny")]
    moved, gone, filtered_out = before[:3]
    # A vector rewritten with a stamp older than the build (a write the build did not see but dated before it):
    # the index holds the old vector; the answer must score the stored one.
    far = -matrix[0]
    Embedding.objects.filter(item_id=moved, field="emb").update(
        vector=far.astype("<f4").tobytes(), updated_at=row.built_at - timedelta(seconds=5))
    matrix[[i for i, it in enumerate(items) if it.pk == moved][0]] = far
    Embedding.objects.filter(item_id=gone, field="emb").delete()  # a vector removed: no longer comparable
    Item.objects.filter(pk=filtered_out).update(client_metadata={"weather": "Rain"})  # leaves the Sunny filter
    got = _through_index(workspace, matrix, 0, 10, "weather:eq:Sunny")
    pks = [pk for _, pk in got]
    assert gone not in pks and filtered_out not in pks
    sunny = set(Item.objects.filter(client_metadata__weather="Sunny").values_list("pk", flat=True))
    assert set(pks) <= sunny
    reference = _exact_distances(matrix, 0, pks, items)
    assert all(abs(d - reference[pk]) < 1e-12 for d, pk in got)  # `moved` is far now, or scored as far
    assert dict((pk, d) for d, pk in got).get(moved, 2.0) > 1.5
    assert len(got) == 10 and exact_calls == []


def test_an_index_built_without_stamps_rescores_every_hit_from_the_database(settings, tmp_path, owner, workspace):
    from metadata_site.media.models import Embedding

    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=200, seed=3)
    row = vectors.index_build(workspace_id=workspace.pk, field="emb")
    (tmp_path / vectors._stamps_name(row.file_name)).unlink()
    vectors._loaded.clear()
    target = _through_index(workspace, matrix, 4, 5)[1][1]
    Embedding.objects.filter(item_id=target, field="emb").update(
        vector=(-matrix[4]).astype("<f4").tobytes(), updated_at=row.built_at - timedelta(seconds=5))
    got = dict((pk, d) for d, pk in _through_index(workspace, matrix, 4, 5))
    assert got.get(target, 2.0) > 1.5


def _membership_ids(queries) -> list[set[int]]:
    """The ids each membership query (the candidates joined to their vectors) asked about."""
    asked = []
    for q in queries:
        if 'JOIN "media_embedding"' not in q["sql"]:
            continue
        found = re.search(r"unnest\('\{([\d,]+)\}'", q["sql"]) or re.search(r'"items_item"\."id" IN \(([\d, ]+)\)', q["sql"])
        asked.append({int(x) for x in found.group(1).replace(" ", "").split(",")})
    return asked


def test_a_selective_filter_grows_the_request_once_and_asks_about_each_id_once(settings, tmp_path, owner, workspace,
                                                                             exact_calls):
    settings.VECTOR_INDEX_DIR = tmp_path
    settings.VECTOR_EXACT_MAX = 0
    items, matrix = _setup(workspace, owner, n=600, seed=11)
    vectors.index_build(workspace_id=workspace.pk, field="emb")
    # 1 item in 6 (v100 … v199) and k = 30: the first request (120 neighbours) keeps about 20, so the second asks
    # for what that share says is needed.
    with CaptureQueriesContext(connection) as captured:
        got = _through_index(workspace, matrix, 150, 30, "title:startswith:v1")
    asked = _membership_ids(captured.captured_queries)
    assert len(asked) == 2 and not asked[0] & asked[1]
    expected = _reference(items, matrix, 150, 30, "cosine", keep=lambda it: it.title.startswith("v1"))
    by_pk = {it.pk: it for it in items}
    assert len({by_pk[pk].title for _, pk in got} & {t for t, _ in expected}) >= 0.8 * 30  # approximate (above)
    assert all(by_pk[pk].title.startswith("v1") for _, pk in got)
    assert exact_calls == []

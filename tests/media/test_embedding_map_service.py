"""The embedding map's build (`media.embedding_map`): PCA from keyset batches against numpy's reference, UMAP on a
sample, the points replaced by a rebuild, the deterministic sample of the points endpoint, and the failure path
(no vectors, a dropped field) with its reason on the row."""

import numpy as np
import pytest

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media import embedding_map as em
from metadata_site.media.models import EmbeddingMap, MapPoint
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db

DIM = 12


def _setup(workspace, owner, *, n=90, distance="euclidean", seed=7):
    make_schema(workspace, [
        {"name": "emb", "type": "embedding", "dimension": DIM, "distance": distance},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
        {"name": "temp", "type": "float"},
    ])
    folder = make_folder(workspace)
    rng = np.random.default_rng(seed)
    # Anisotropic, so the two principal axes are well separated.
    matrix = (rng.normal(size=(n, DIM)) * np.linspace(5, 0.5, DIM)).astype(np.float32)
    items = [make_item(folder, f"v{i:03d}", metadata={"weather": "Sunny" if i % 3 else "Rain", "temp": float(i)})
             for i in range(n)]
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={it.pk: {"emb": matrix[i].tolist()} for i, it in enumerate(items)})
    return items, matrix


def _reference_pca(matrix: np.ndarray) -> np.ndarray:
    m = matrix.astype(np.float64)
    centred = m - m.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def test_pca_axes_from_batches_match_numpys_svd_on_random_vectors():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(500, 20)) * np.linspace(4, 1, 20)
    mean, axes, n = em.pca_axes(iter(np.array_split(matrix, 7)), 20)
    assert n == 500
    got = em.pca_project(matrix, mean, axes)
    want = _reference_pca(matrix)
    for j in range(2):  # an axis's sign is a convention
        assert np.allclose(np.abs(got[:, j]), np.abs(want[:, j]), atol=1e-8)
        assert min(np.abs(got[:, j] - want[:, j]).max(), np.abs(got[:, j] + want[:, j]).max()) < 1e-8


def test_a_pca_build_stores_numpys_projection_for_every_item(monkeypatch, owner, workspace):
    items, matrix = _setup(workspace, owner)
    monkeypatch.setattr(em, "READ_BATCH", 16)  # several keyset batches
    row = em.map_queue(workspace=workspace, field="emb", method="pca", user=owner)  # tasks run at once in tests
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED and row.size == len(items) and row.done == 100
    points = {p.item_id: (p.x, p.y) for p in MapPoint.objects.filter(map=row)}
    want = _reference_pca(matrix)
    got = np.array([points[it.pk] for it in items])
    for j in range(2):
        assert min(np.abs(got[:, j] - want[:, j]).max(), np.abs(got[:, j] + want[:, j]).max()) < 1e-4
    assert sum(row.grid) == len(items)
    assert row.x_min == pytest.approx(got[:, 0].min()) and row.y_max == pytest.approx(got[:, 1].max())


def test_a_rebuild_replaces_the_points(owner, workspace):
    items, _ = _setup(workspace, owner, n=30)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    items[0].delete()
    em.map_queue(workspace=workspace, field="emb", method="pca")
    assert MapPoint.objects.filter(map=row).count() == 29
    assert EmbeddingMap.objects.count() == 1


def test_a_umap_build_places_every_item(monkeypatch, owner, workspace):
    pytest.importorskip("umap")
    items, _ = _setup(workspace, owner, n=60)
    monkeypatch.setattr(em, "UMAP_FIT_MAX", 40)  # fitted on 40, the other 20 transformed
    row = em.map_queue(workspace=workspace, field="emb", method="umap")
    row.refresh_from_db()
    assert row.status == TaskStatus.COMPLETED, row.failure_reason
    xy = np.array(list(MapPoint.objects.filter(map=row).values_list("x", "y")))
    assert len(xy) == 60 and np.isfinite(xy).all()


def test_a_field_without_vectors_fails_with_the_reason(owner, workspace):
    make_schema(workspace, [{"name": "emb", "type": "embedding", "dimension": DIM, "distance": "cosine"}])
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    assert row.status == TaskStatus.FAILED
    assert row.failure_reason == f"the field 'emb' has no {DIM}-d vectors to map"
    assert not MapPoint.objects.exists()


def test_a_field_dropped_before_the_build_ran_fails_with_the_reason_and_keeps_the_old_points(owner, workspace):
    from metadata_site.media.tasks import embedding_map_build

    _setup(workspace, owner, n=20)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    embedding_map_build.call(row.pk)
    row.refresh_from_db()
    assert row.status == TaskStatus.FAILED
    assert row.failure_reason == "field: 'emb' is not an embedding field of the schema"
    assert MapPoint.objects.filter(map=row).count() == 20


def test_queueing_refuses_an_unknown_method_or_a_field_that_is_not_an_embedding(owner, workspace):
    _setup(workspace, owner, n=5)
    with pytest.raises(em.MapError, match="method: 'tsne' is not a map method"):
        em.map_queue(workspace=workspace, field="emb", method="tsne")
    with pytest.raises(em.MapError, match="field: 'weather' is not an embedding field"):
        em.map_queue(workspace=workspace, field="weather", method="pca")
    assert not EmbeddingMap.objects.exists()


def test_the_points_are_a_deterministic_sample_when_there_are_more_than_the_limit(owner, workspace):
    items, _ = _setup(workspace, owner, n=90)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    first = em.map_points(row, limit=30)
    again = em.map_points(row, limit=30)
    assert first.sampled and 5 < len(first.ids) <= 60
    assert first.ids.tolist() == again.ids.tolist()
    everything = em.map_points(row)
    assert not everything.sampled and sorted(everything.ids.tolist()) == sorted(it.pk for it in items)


def test_the_points_carry_enum_codes_and_number_ramp_codes(owner, workspace):
    items, _ = _setup(workspace, owner, n=9)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    from metadata_site.schemas.selectors import schema_current

    schema = schema_current(workspace=workspace)
    by_enum = em.map_points(row, colour=schema.get("weather"))
    weather = {it.pk: it.client_metadata["weather"] for it in items}
    assert {pk: code for pk, code in zip(by_enum.ids.tolist(), by_enum.colours.tolist(), strict=True)} == {
        pk: 1 if w == "Sunny" else 2 for pk, w in weather.items()}
    by_number = em.map_points(row, colour=schema.get("temp"))
    codes = dict(zip(by_number.ids.tolist(), by_number.colours.tolist(), strict=True))
    assert (by_number.low, by_number.high) == (0.0, 8.0)
    assert codes[items[0].pk] == 1 and codes[items[8].pk] == 255 and codes[items[4].pk] == 128


def test_a_filtered_sample_keeps_only_the_filtered_items_of_the_sample(owner, workspace):
    from metadata_site.items.models import Item

    _setup(workspace, owner, n=90)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    rain = Item.objects.filter(workspace=workspace, client_metadata__weather="Rain")  # 30 of 90
    sample = set(em.map_points(row, limit=40).ids.tolist())
    points = em.map_points(row, items=rain, limit=40)
    assert points.sampled and set(points.ids.tolist()) == sample & set(rain.values_list("pk", flat=True))


def test_the_grid_estimate_of_a_box_is_never_below_its_count(owner, workspace):
    import random

    _setup(workspace, owner, n=90)
    row = em.map_queue(workspace=workspace, field="emb", method="pca")
    row.refresh_from_db()
    rnd = random.Random(3)
    for _ in range(30):
        x0, x1 = sorted(rnd.uniform(row.x_min - 1, row.x_max + 1) for _ in range(2))
        y0, y1 = sorted(rnd.uniform(row.y_min - 1, row.y_max + 1) for _ in range(2))
        count = MapPoint.objects.filter(map=row, x__gte=x0, x__lte=x1, y__gte=y0, y__lte=y1).count()
        assert em.box_estimate(row, (x0, y0, x1, y1)) >= count

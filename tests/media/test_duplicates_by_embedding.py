"""Near-duplicates by an embedding field: the duplicates page's choice of source (the built-in descriptor or an
embedding field) and threshold, stored on the scan and shown; groups of vectors planted near each other found
exactly (small field) and through the usearch index (large field), checked against a brute-force reference; a
bad threshold is a clear 400 that queues nothing; owner / member / stranger."""

import numpy as np
import pytest
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.media import vector_dupes, vectors
from metadata_site.media.models import DuplicateScan
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db

DIM = 16


def _planted(workspace, owner, *, distance="cosine", n=150, seed=3):
    """n random vectors; items 10-14 near copies of item 10, 40-41 of item 40, 100-102 of item 100 (noise 1e-3)."""
    make_schema(workspace, [{"name": "emb", "type": "embedding", "dimension": DIM, "distance": distance}])
    folder = make_folder(workspace)
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, DIM)).astype(np.float32)
    for base, count in ((10, 5), (40, 2), (100, 3)):
        for i in range(base + 1, base + count if base < n else 0):
            matrix[i] = matrix[base] * (1 + 0.01 * (i - base)) + rng.normal(scale=1e-3, size=DIM).astype(np.float32)
    items = [make_item(folder, f"v{i:03d}") for i in range(n)]
    item_metadata_write(workspace=workspace, user=owner, mode=MODE_MERGE,
                        updates={it.pk: {"emb": matrix[i].tolist()} for i, it in enumerate(items)})
    return items, matrix


def _reference(items, matrix, distance: str, threshold: float) -> dict[int, int]:
    m = matrix.astype(np.float64)
    if distance == "cosine":
        unit = m / np.linalg.norm(m, axis=1, keepdims=True)
        d = 1 - unit @ unit.T
    else:
        d = np.linalg.norm(m[:, None, :] - m[None, :, :], axis=2)
    parent = list(range(len(items)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if d[a, b] <= threshold:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    roots = [find(i) for i in range(len(items))]
    return {items[i].pk: items[r].pk for i, r in enumerate(roots) if roots.count(r) > 1}


def _field(distance):
    return vectors.Field(name="emb", dimension=DIM, distance=distance)


@pytest.mark.parametrize("distance, threshold, only_planted", [
    ("cosine", 0.001, True), ("cosine", 0.3, False), ("euclidean", 0.2, True), ("euclidean", 2.5, False)])
def test_a_small_field_is_grouped_exactly_as_a_brute_force_comparison(monkeypatch, owner, workspace, distance,
                                                                      threshold, only_planted):
    monkeypatch.setattr(vector_dupes, "EXACT_BLOCK", 16)  # several blocks
    items, matrix = _planted(workspace, owner, distance=distance)
    got = vector_dupes.groups_by_vector(workspace_id=workspace.pk, field=_field(distance), threshold=threshold)
    assert got == _reference(items, matrix, distance, threshold)
    assert len(got) > 10 if not only_planted else True  # the wide thresholds join random pairs too
    if only_planted:
        assert got == {items[i].pk: items[base].pk for base, count in ((10, 5), (40, 2), (100, 3))
                       for i in range(base, base + count)}


@pytest.mark.parametrize("distance, threshold", [("cosine", 0.001), ("euclidean", 0.2)])
def test_a_large_field_is_grouped_through_its_index_into_true_groups_only(settings, tmp_path, owner, workspace, distance, threshold):
    settings.VECTOR_INDEX_DIR = tmp_path
    items, matrix = _planted(workspace, owner, distance=distance, n=400)
    settings.VECTOR_EXACT_MAX = 100
    assert vector_dupes.unavailable(workspace_id=workspace.pk, field=_field(distance)) is not None
    vectors.index_build(workspace_id=workspace.pk, field="emb")
    assert vector_dupes.unavailable(workspace_id=workspace.pk, field=_field(distance)) is None
    seen: list[int] = []
    got = vector_dupes.groups_by_vector(workspace_id=workspace.pk, field=_field(distance), threshold=threshold,
                                        progress=seen.append)
    reference = _reference(items, matrix, distance, threshold)
    # The index is approximate (its graph depends on how the build's threads interleaved): every group it finds is
    # a true one, with the true representative when the group is whole, and a suite run once missed a whole group
    # of 3, so at least 2 of the 3 planted groups, not always all.
    assert all(reference.get(pk) == reference[rep] for pk, rep in got.items() if rep in reference)
    assert set(got) <= set(reference) and len(set(got.values())) >= 2
    assert seen == sorted(seen) and seen[-1] == 90


def test_the_task_groups_by_the_chosen_field_and_the_page_says_what_was_compared(
        login, editor, workspace, owner, django_capture_on_commit_callbacks):
    items, _ = _planted(workspace, owner)
    client = login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("media:duplicates-refresh", args=["acme"]), {"source": "emb", "threshold": "0.001"})
    assert resp.status_code == 302
    scan = DuplicateScan.objects.get(workspace=workspace)
    assert (scan.source, scan.threshold, scan.status, scan.groups, scan.items) == ("emb", 0.001, "COMPLETED", 3, 10)
    assert Item.objects.get(pk=items[12].pk).dup_group == items[10].pk
    html = client.get(reverse("media:duplicates", args=["acme"])).content.decode()
    assert "3 groups of 10 items by" in html and "the embedding “emb”, within a distance of 0.001" in html
    assert '<option value="emb" selected>' in html and 'value="0.001"' in html


def test_the_built_in_descriptor_takes_a_number_of_bits(login, editor, workspace, django_capture_on_commit_callbacks):
    folder = make_folder(workspace)
    a = make_item(folder, "a", phash=0b1111)
    b = make_item(folder, "b", phash=0b1111 ^ 0b111 << 8)  # 3 bits apart
    with django_capture_on_commit_callbacks(execute=True):
        assert login(editor).post(reverse("media:duplicates-refresh", args=["acme"]),
                                  {"source": "", "threshold": "2"}).status_code == 302
    assert not Item.objects.filter(workspace=workspace, dup_group__isnull=False).exists()
    with django_capture_on_commit_callbacks(execute=True):
        login(editor).post(reverse("media:duplicates-refresh", args=["acme"]), {"source": "", "threshold": "3"})
    assert set(Item.objects.filter(dup_group=a.pk).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert "the built-in descriptor, within 3 bits of 64" in login(editor).get(
        reverse("media:duplicates", args=["acme"])).content.decode()


@pytest.mark.parametrize("source, threshold, message", [
    ("", "8", "a whole number of bits from 0 to 7 (got 8)"),
    ("", "2.5", "a whole number of bits from 0 to 7 (got 2.5)"),
    ("", "-1", "a whole number of bits from 0 to 7 (got -1)"),
    ("emb", "", "give one (for example 0.05)"),
    ("emb", "abc", "&#x27;abc&#x27; is not a number"),
    ("emb", "-0.1", "a number of 0 or more (got -0.1)"),
    ("emb", "nan", "a number of 0 or more (got nan)"),
    ("emb", "2.5", "a cosine distance (1 - cos) is at most 2 (got 2.5)"),
    ("nope", "0.1", "Choose the built-in descriptor or an embedding field of the schema."),
])
def test_a_bad_source_or_threshold_is_a_clear_400_and_queues_nothing(login, editor, owner, workspace, source,
                                                                     threshold, message):
    _planted(workspace, owner, n=5)
    resp = login(editor).post(reverse("media:duplicates-refresh", args=["acme"]),
                              {"source": source, "threshold": threshold})
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert not DuplicateScan.objects.filter(workspace=workspace).exists()


def test_a_large_field_without_its_index_is_refused_with_the_reason(settings, login, editor, owner, workspace):
    _planted(workspace, owner, n=30)
    settings.VECTOR_EXACT_MAX = 10
    resp = login(editor).post(reverse("media:duplicates-refresh", args=["acme"]), {"source": "emb", "threshold": "0.1"})
    assert resp.status_code == 400
    assert "the field&#x27;s index is not built yet" in resp.content.decode()
    assert not DuplicateScan.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize("who, status", [("owner", 302), ("member", 403), ("stranger", 404)])
def test_searching_by_an_embedding_is_for_editors(who, status, request, login, owner, workspace,
                                                  django_capture_on_commit_callbacks):
    _planted(workspace, owner)
    with django_capture_on_commit_callbacks(execute=True):
        resp = login(request.getfixturevalue(who)).post(reverse("media:duplicates-refresh", args=["acme"]),
                                                        {"source": "emb", "threshold": "0.001"})
    assert resp.status_code == status
    assert Item.objects.filter(workspace=workspace, dup_group__isnull=False).count() == (10 if status == 302 else 0)


def test_a_field_removed_from_the_schema_before_the_run_fails_the_scan_with_the_reason(settings, editor, owner,
                                                                                      workspace):
    from metadata_site.media import lookalike
    from metadata_site.media import tasks as media_tasks

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    _planted(workspace, owner, n=20)
    lookalike.duplicate_scan_queue(workspace=workspace, user=editor, source="emb", threshold=0.01)
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny"]}])  # emb no longer declared
    with pytest.raises(ValueError):
        media_tasks.find_duplicates.call(workspace.pk)
    scan = DuplicateScan.objects.get(workspace=workspace)
    assert scan.status == "FAILED" and "'emb' is no longer an embedding field of the schema" in scan.failure_reason
    assert not Item.objects.filter(workspace=workspace, dup_group__isnull=False).exists()

"""The one reader of stored vectors (`media.vectors.vector_batches`): every vector of a field in keyset batches, or
those of given ids, or of a candidate queryset; a vector of another size skipped; a batch left empty not yielded;
other fields and workspaces never read; a bounded scan stopped before it reads past its bound."""

import numpy as np
import pytest

from metadata_site.items.models import Item
from metadata_site.media.models import Embedding
from metadata_site.media.vectors import ScanTooLarge, vector_batches
from tests.factories import make_folder, make_item, make_workspace

pytestmark = pytest.mark.django_db

DIM = 3


def _stored(workspace, n=10):
    """n items with a DIM-d vector of `emb` each, but items 4 and 5 a 2-d one (an earlier declaration); a vector of
    another field beside each. Returns the items and {item id: vector} of the DIM-d ones."""
    folder = make_folder(workspace)
    items = [make_item(folder, f"v{i}") for i in range(n)]
    want = {}
    for i, item in enumerate(items):
        vector = np.arange(i * DIM, (i + 1) * DIM, dtype="<f4")
        if i in (4, 5):
            vector = vector[:2]
        else:
            want[item.pk] = vector
        Embedding.objects.create(workspace=workspace, item=item, field="emb", vector=vector.tobytes())
        Embedding.objects.create(workspace=workspace, item=item, field="other", vector=(vector + 100).tobytes())
    return items, want


def _read(workspace, batch, **kwargs) -> list[tuple[list[int], np.ndarray]]:
    got = list(vector_batches(workspace=workspace, field="emb", dimension=DIM, batch=batch, **kwargs))
    for ids, matrix in got:
        assert ids.dtype == np.int64 and matrix.dtype == np.float32 and matrix.shape == (len(ids), DIM)
    return [(ids.tolist(), matrix) for ids, matrix in got]


def _as_dict(batches) -> dict[int, np.ndarray]:
    return {pk: row for ids, matrix in batches for pk, row in zip(ids, matrix, strict=True)}


def test_every_vector_of_the_field_in_keyset_batches_without_the_wrong_sized_ones(workspace):
    items, want = _stored(workspace)
    other = make_workspace("theirs")
    Embedding.objects.create(workspace=other, item=make_item(make_folder(other), "theirs"), field="emb",
                             vector=np.ones(DIM, dtype="<f4").tobytes())
    batches = _read(workspace, 2)
    assert [ids for ids, _ in batches] == [[items[0].pk, items[1].pk], [items[2].pk, items[3].pk],
                                           [items[6].pk, items[7].pk], [items[8].pk, items[9].pk]]  # 4, 5: none left
    got = _as_dict(batches)
    assert got.keys() == want.keys()
    assert all((got[pk] == want[pk]).all() for pk in want)


def test_the_vectors_of_given_ids_only(workspace):
    items, want = _stored(workspace)
    ids = [items[9].pk, items[1].pk, items[4].pk, items[3].pk, 10**9]  # unordered, one wrong-sized, one unknown
    batches = _read(workspace, 2, ids=ids)
    assert [ids for ids, _ in batches] == [[items[1].pk, items[9].pk], [items[3].pk]]  # id order within a batch
    assert all((row == want[pk]).all() for pk, row in _as_dict(batches).items())


def test_the_vectors_of_a_candidate_queryset_only(workspace):
    items, want = _stored(workspace)
    candidates = Item.objects.filter(workspace=workspace, title__in=["v0", "v2", "v5", "v8", "v9"])
    batches = _read(workspace, 2, candidates=candidates)
    # the candidates' pages: (v0, v2), (v5, v8) less v5's wrong-sized vector, (v9)
    assert [ids for ids, _ in batches] == [[items[0].pk, items[2].pk], [items[8].pk], [items[9].pk]]
    assert all((row == want[pk]).all() for pk, row in _as_dict(batches).items())


@pytest.mark.parametrize("source", ["all", "ids", "candidates"])
def test_a_bounded_scan_stops_before_it_reads_past_its_bound(workspace, source):
    items, _ = _stored(workspace)
    kwargs = {"all": {}, "ids": {"ids": [it.pk for it in items]},
              "candidates": {"candidates": Item.objects.filter(workspace=workspace)}}[source]
    assert len(_read(workspace, 5, scan_max=10, **kwargs)) == 2
    batches = vector_batches(workspace=workspace, field="emb", dimension=DIM, batch=4, scan_max=9, **kwargs)
    assert next(batches)[0].tolist() == [it.pk for it in items[:4]]
    assert next(batches)[0].tolist() == [items[6].pk, items[7].pk]  # items 4 and 5 skipped, but counted
    with pytest.raises(ScanTooLarge):
        next(batches)  # 8 read: 2 more would pass 9


def test_ids_and_candidates_together_are_refused(workspace):
    with pytest.raises(ValueError):
        next(vector_batches(workspace=workspace, field="emb", dimension=DIM, batch=2, ids=[1],
                            candidates=Item.objects.all()))

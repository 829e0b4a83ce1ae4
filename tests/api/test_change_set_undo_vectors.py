"""The API's undo of a change set restores the embedding vectors an API write overwrote or removed, byte for
byte, with the JSON document."""

import numpy as np
import pytest

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.media.models import Embedding
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db

DIM = 4
FIRST = [0.1, 1 / 3, -2.7182817, 1e-8]
SECOND = [5.0, 6.0, 7.0, 8.5]


@pytest.fixture
def items(workspace):
    make_schema(workspace, [
        {"name": "clip", "type": "embedding", "dimension": DIM, "distance": "cosine"},
        {"name": "dino", "type": "embedding", "dimension": DIM, "distance": "euclidean"},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    ])
    folder = make_folder(workspace)
    return [make_item(folder, f"i{n}.jpg", metadata={"weather": "Sunny"}) for n in range(3)]


def _bytes(item, field="clip") -> bytes | None:
    row = Embedding.objects.filter(item=item, field=field).first()
    return None if row is None else bytes(row.vector)


def _packed(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def _write(workspace, user, updates):
    return item_metadata_write(workspace=workspace, user=user, updates=updates, mode=MODE_MERGE)


def test_undo_of_an_api_write_restores_the_overwritten_vectors_byte_for_byte(api_as, editor, workspace, items):
    a, b, _ = items
    _write(workspace, editor, {a.pk: {"clip": FIRST, "dino": FIRST}, b.pk: {"clip": SECOND}})
    before = {(it.pk, f): _bytes(it, f) for it in (a, b) for f in ("clip", "dino")}
    client = api_as(editor)
    resp = client.put(f"/api/w/acme/items/{a.uid}/metadata", {"weather": "Rain", "clip": SECOND})  # dino removed
    assert resp.status_code == 200
    assert _bytes(a) == _packed(SECOND) and _bytes(a, "dino") is None
    undo = client.post(f"/api/w/acme/change_sets/{resp.json()['change_set']}/undo").json()
    assert undo["restored"] == 1 and undo["conflicts"] == [] and undo["undone"] is True
    assert {(it.pk, f): _bytes(it, f) for it in (a, b) for f in ("clip", "dino")} == before
    assert _bytes(a) == _packed(FIRST)
    a.refresh_from_db()
    assert a.client_metadata == {"weather": "Sunny"}

"""The API's undo of a change set restores the embedding vectors an API write overwrote or removed, byte for
byte, with the JSON document."""

import pytest

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from tests.items.vector_undo_helpers import make_vector_items, packed, stored_bytes

pytestmark = pytest.mark.django_db

FIRST = [0.1, 1 / 3, -2.7182817, 1e-8]
SECOND = [5.0, 6.0, 7.0, 8.5]


@pytest.fixture
def items(workspace):
    return make_vector_items(workspace)


def _write(workspace, user, updates):
    return item_metadata_write(workspace=workspace, user=user, updates=updates, mode=MODE_MERGE)


def test_undo_of_an_api_write_restores_the_overwritten_vectors_byte_for_byte(api_as, editor, workspace, items):
    a, b, _ = items
    _write(workspace, editor, {a.pk: {"clip": FIRST, "dino": FIRST}, b.pk: {"clip": SECOND}})
    before = {(it.pk, f): stored_bytes(it, f) for it in (a, b) for f in ("clip", "dino")}
    client = api_as(editor)
    resp = client.put(f"/api/w/acme/items/{a.uid}/metadata", {"weather": "Rain", "clip": SECOND})  # dino removed
    assert resp.status_code == 200
    assert stored_bytes(a) == packed(SECOND) and stored_bytes(a, "dino") is None
    undo = client.post(f"/api/w/acme/change_sets/{resp.json()['change_set']}/undo").json()
    assert undo["restored"] == 1 and undo["conflicts"] == [] and undo["undone"] is True
    assert {(it.pk, f): stored_bytes(it, f) for it in (a, b) for f in ("clip", "dino")} == before
    assert stored_bytes(a) == packed(FIRST)
    a.refresh_from_db()
    assert a.client_metadata == {"weather": "Sunny"}

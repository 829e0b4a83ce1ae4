"""Shared by the undo-of-vectors tests (services and API): a schema with two embedding fields and three items, and
the stored bytes of a vector."""

import numpy as np

from metadata_site.media.models import Embedding
from tests.factories import make_folder, make_item, make_schema

DIM = 4


def make_vector_items(workspace) -> list:
    make_schema(workspace, [
        {"name": "clip", "type": "embedding", "dimension": DIM, "distance": "cosine"},
        {"name": "dino", "type": "embedding", "dimension": DIM, "distance": "euclidean"},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    ])
    folder = make_folder(workspace)
    return [make_item(folder, f"i{n}.jpg", metadata={"weather": "Sunny"}) for n in range(3)]


def stored_bytes(item, field: str = "clip") -> bytes | None:
    row = Embedding.objects.filter(item=item, field=field).first()
    return None if row is None else bytes(row.vector)


def packed(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()

"""The embedding field type: declared with a dimension and a distance, its values validated (dimension, finite
numbers) with a clear message, moved out of the JSON document into `media.Embedding` as float32 bytes by every
metadata write (merge, overwrite, null removes), by new items created in bulk, and kept out of the explorer's
filterable fields."""

import math

import numpy as np
import pytest

from metadata_site.items.services import (
    MODE_MERGE,
    MODE_OVERWRITE,
    STATUS_CHANGED,
    STATUS_FAILED,
    STATUS_UNCHANGED,
    NewItem,
    item_metadata_write,
    items_create_bulk,
)
from metadata_site.media.models import Embedding
from metadata_site.schemas import declarations as d
from metadata_site.schemas import validation as v
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import SchemaError, schema_declare_field, schema_document
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db

CLIP = {"name": "clip", "type": "embedding", "dimension": 4, "distance": "cosine"}


@pytest.fixture
def schema(workspace):
    return make_schema(workspace, [CLIP, {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])


def _vector(item, field="clip"):
    row = Embedding.objects.filter(item=item, field=field).first()
    return None if row is None else np.frombuffer(bytes(row.vector), dtype="<f4").tolist()


def test_an_embedding_field_is_declared_with_a_dimension_and_a_distance(workspace, owner):
    schema_declare_field(workspace=workspace, user=owner, field={"name": "e", "type": "embedding", "dimension": 512})
    spec = schema_current(workspace=workspace).embedding("e")
    assert (spec.dimension, spec.distance) == (512, "cosine")
    assert schema_document(schema_current(workspace=workspace))["fields"][0]["dimension"] == 512


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"name": "e", "type": "embedding"}, d.FIELD_DIMENSION.format(value=None)),
        ({"name": "e", "type": "embedding", "dimension": 4097}, d.FIELD_DIMENSION.format(value=4097)),
        ({"name": "e", "type": "embedding", "dimension": 2.5}, d.FIELD_DIMENSION.format(value=2.5)),
        ({"name": "e", "type": "embedding", "dimension": 8, "distance": "dot"}, d.FIELD_DISTANCE.format(value="dot")),
        ({"name": "e", "type": "float", "dimension": 8}, d.FIELD_DIMENSION_NOT_EMBEDDING),
    ],
)
def test_a_bad_declaration_is_refused_with_its_reason(workspace, owner, declaration, message):
    with pytest.raises(SchemaError) as err:
        schema_declare_field(workspace=workspace, user=owner, field=declaration)
    assert err.value.message == message


def test_embedding_fields_are_not_filterable_fields(schema, workspace):
    current = schema_current(workspace=workspace)
    assert [s.name for s in current] == ["weather"] and current.get("clip") is None
    assert list(current.embeddings) == ["clip"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,2,3,4", v.VALUE_EMBEDDING_NOT_A_LIST.format(dimension=4, found="a string")),
        ([1, 2, 3], v.VALUE_EMBEDDING_LENGTH.format(dimension=4, count=3)),
        ([1, 2, "x", 4], v.VALUE_EMBEDDING_ELEMENT.format(index=2, value="x")),
        ([1, True, 3, 4], v.VALUE_EMBEDDING_ELEMENT.format(index=1, value=True)),
        ([1, 2, 3, math.inf], v.VALUE_EMBEDDING_NOT_FINITE.format(index=3)),
        ([1, 1e39, 3, 4], v.VALUE_EMBEDDING_NOT_FINITE.format(index=1)),
        ([0, 0, 0, 0], v.VALUE_EMBEDDING_ZERO),
    ],
)
def test_a_bad_vector_fails_its_row_with_the_key_and_the_reason(schema, workspace, owner, value, message):
    item = make_item(make_folder(workspace))
    result = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"clip": value}}, mode=MODE_MERGE)
    (row,) = result.rows
    assert row["status"] == STATUS_FAILED
    assert row["errors"][0]["key"] == "clip" and row["errors"][0]["msg"] == message
    assert not Embedding.objects.exists()


def test_a_long_bad_vector_is_quoted_short(workspace, owner):
    make_schema(workspace, [{**CLIP, "dimension": 512}])
    item = make_item(make_folder(workspace))
    result = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"clip": [1.0] * 500}},
                                 mode=MODE_MERGE)
    assert len(result.rows[0]["errors"][0]["value"]) == 9


def test_a_vector_is_stored_as_float32_and_never_in_the_document(schema, workspace, owner):
    item = make_item(make_folder(workspace), metadata={"weather": "Sunny"})
    result = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"clip": [0.1, 2, -3, 4]}},
                                 mode=MODE_MERGE)
    assert result.rows[0]["status"] == STATUS_CHANGED
    item.refresh_from_db()
    assert item.client_metadata == {"weather": "Sunny"}
    assert _vector(item) == pytest.approx([0.1, 2, -3, 4], rel=1e-6)
    assert len(bytes(Embedding.objects.get(item=item).vector)) == 16


def test_the_same_vector_again_is_unchanged_and_null_removes_it(schema, workspace, owner):
    item = make_item(make_folder(workspace))
    write = lambda md: item_metadata_write(workspace=workspace, user=owner, updates={item.pk: md}, mode=MODE_MERGE)  # noqa: E731
    write({"clip": [1, 2, 3, 4]})
    assert write({"clip": [1, 2, 3, 4]}).rows[0]["status"] == STATUS_UNCHANGED
    assert write({"clip": [1, 2, 3, 5]}).rows[0]["status"] == STATUS_CHANGED
    assert _vector(item) == [1, 2, 3, 5]
    assert write({"clip": None}).rows[0]["status"] == STATUS_CHANGED
    assert _vector(item) is None


def test_overwrite_removes_the_vectors_it_does_not_give_and_merge_keeps_them(schema, workspace, owner):
    item = make_item(make_folder(workspace))
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"clip": [1, 2, 3, 4]}}, mode=MODE_MERGE)
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"weather": "Rain"}}, mode=MODE_MERGE)
    assert _vector(item) == [1, 2, 3, 4]
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"weather": "Sunny"}}, mode=MODE_OVERWRITE)
    assert _vector(item) is None


def test_new_items_created_in_bulk_keep_their_vectors_out_of_the_document(schema, workspace):
    folder = make_folder(workspace)
    pks = items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[
        NewItem("a.jpg", "image", "", {"weather": "Rain", "clip": [1.0, 0.0, 0.0, 0.5]}),
        NewItem("b.jpg", "image", "", {"weather": "Sunny"}),
    ])
    a = folder.items.get(pk=pks[0])
    assert a.client_metadata == {"weather": "Rain"} and _vector(a) == [1.0, 0.0, 0.0, 0.5]
    assert Embedding.objects.count() == 1


def test_a_stranger_workspace_keeps_its_own_vectors(schema, workspace, owner, stranger):
    item = make_item(make_folder(workspace))
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"clip": [1, 2, 3, 4]}}, mode=MODE_MERGE)
    assert Embedding.objects.get().workspace_id == workspace.pk

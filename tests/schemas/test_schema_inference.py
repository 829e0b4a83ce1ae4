"""Infer a schema from the undeclared keys items hold: the rules, the preview page and applying it."""

import json

import pytest
from django.urls import reverse

from metadata_site.explorer import query as fl
from metadata_site.schemas.fields import FieldType, Schema
from metadata_site.schemas.inference import infer_fields, infer_schema
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema

EMPTY = Schema(version=0)


def inferred(rows, schema=EMPTY):
    result = infer_fields(rows, schema=schema)
    return {s.name: s for s in result.fields}, result.skipped


def test_it_infers_a_type_per_key_from_the_values_seen():
    fields, skipped = inferred([
        {"n": 1, "x": 1.5, "ok": True, "when": "2024-02-24T10:00:00Z", "url": "https://a.example/1", "note": "hello"},
        {"n": 2, "x": 2, "ok": False, "when": "2024-02-25T00:00:00+02:00", "url": "http://b.example", "note": "other"},
    ])
    assert fields["n"].type == FieldType.INTEGER
    assert fields["x"].type == FieldType.FLOAT
    assert fields["ok"].type == FieldType.BOOLEAN
    assert fields["when"].type == FieldType.DATETIME
    assert fields["url"].type == FieldType.LINK
    assert fields["note"].type == FieldType.STRING
    assert skipped == {}


def test_few_repeated_strings_make_an_enum_and_lists_of_them_a_multi_enum():
    rows = [{"group": g, "tags": t} for g, t in [("A", ["x"]), ("B", ["x", "y"]), ("A", []), ("B", ["y"])]]
    fields, _ = inferred(rows)
    assert fields["group"].type == FieldType.ENUM and fields["group"].options == ("A", "B")
    assert not fields["group"].is_multi
    assert fields["tags"].is_multi and fields["tags"].options == ("x", "y")


def test_strings_that_do_not_fit_the_enum_rules_stay_strings():
    many = [{"id": f"v{i}"} for i in range(30)] * 2  # 30 distinct values: too many options
    assert inferred(many)[0]["id"].type == FieldType.STRING
    long = [{"t": "a" * 21}, {"t": "a" * 21}, {"t": "b"}, {"t": "b"}]  # an option is at most 20 characters
    assert inferred(long)[0]["t"].type == FieldType.STRING
    unique = [{"t": "a"}, {"t": "b"}]  # not repeated: no enum
    assert inferred(unique)[0]["t"].type == FieldType.STRING


def test_keys_it_cannot_type_are_reported_not_guessed():
    fields, skipped = inferred([{"mixed": 1, "obj": {"a": 1}, "$bad": 1, "nums": [1]}, {"mixed": "x"}])
    assert fields == {}
    assert skipped["mixed"] == "values of several types (number, string)"
    assert skipped["obj"] == "values are objects, which no field type holds"
    assert skipped["nums"] == "values are lists, which no field type holds"
    assert "must not start with '$'" in skipped["$bad"]


def test_declared_keys_nulls_and_keyframes_are_left_out():
    schema = Schema(version=1, fields={})
    fields, skipped = inferred([{"keyframes": [1, 2], "gone": None}], schema=schema)
    assert fields == {} and skipped == {}


@pytest.fixture
def items(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(workspace, "root")
    other = make_folder(workspace, "other")
    for n in range(4):
        make_item(folder, f"i{n}.jpg", metadata={"weather": "Sunny", "group-id": "AB"[n % 2], "size": n})
    make_item(other, "o.jpg", metadata={"elsewhere": "x"})
    return {"folder": folder}


def test_it_reads_only_the_scope_and_a_bounded_sample(workspace, items):
    schema = schema_current(workspace=workspace)
    result = infer_schema(workspace=workspace, scope=fl.Scope("folder", items["folder"].pk), schema=schema)
    assert [s.name for s in result.fields] == ["group-id", "size"]
    assert result.sampled == 4 and result.exact
    result = infer_schema(workspace=workspace, scope=fl.Scope(), schema=schema, sample=2)
    assert result.sampled == 2 and not result.exact


def infer_url(workspace):
    return reverse("schemas:infer", args=[workspace.slug])


def test_the_page_previews_the_inferred_schema_like_an_import_and_applying_makes_a_version(login, workspace, items,
                                                                                           owner):
    client = login(owner)
    response = client.get(infer_url(workspace), {"scope": f"folder:{items['folder'].pk}"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Inferred from the data" in body and "Added (2)" in body and "Dropped" not in body
    proposal = response.context["text"]
    assert [f["name"] for f in json.loads(proposal)] == ["weather", "group-id", "size"]
    response = client.post(reverse("schemas:import", args=[workspace.slug]),
                           {"confirm": "1", "base_version": "1", "document": proposal})
    assert response.status_code == 302
    schema = schema_current(workspace=workspace)
    assert schema.version == 2
    assert schema.get("group-id").type == FieldType.ENUM and schema.get("size").type == FieldType.INTEGER
    assert schema.get("weather").options == ("Sunny", "Rain")


def test_a_bad_scope_is_a_400(login, workspace, items, owner):
    response = login(owner).get(infer_url(workspace), {"scope": "shelf:1"})
    assert response.status_code == 400
    assert "scope: expected folder:<id>" in response.content.decode()


def test_owner_infers_a_member_gets_403_and_a_stranger_404(login, workspace, items, owner, member, stranger):
    assert login(owner).get(infer_url(workspace)).status_code == 200
    assert login(member).get(infer_url(workspace)).status_code == 403
    assert login(stranger).get(infer_url(workspace)).status_code == 404

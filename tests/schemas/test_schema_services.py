import json

import pytest

from metadata_site.items.models import ChangeSet
from metadata_site.items.services import change_set_undo
from metadata_site.schemas.declarations import FIELD_NAME_RESERVED
from metadata_site.schemas.fields import FieldType
from metadata_site.schemas.models import MetadataSchema
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import (
    SCHEMA_DOCUMENT_JSON,
    SCHEMA_DOCUMENT_SHAPE,
    SCHEMA_FIELD_DUPLICATE,
    SCHEMA_FIELD_EXISTS,
    SCHEMA_FIELD_KEY_UNKNOWN,
    SCHEMA_FIELD_UNKNOWN,
    SchemaError,
    schema_change_field,
    schema_change_field_type,
    schema_declare_field,
    schema_document,
    schema_document_fields,
    schema_drop_field,
    schema_import,
)
from metadata_site.schemas.signals import schema_changed
from metadata_site.schemas.validation import VALUE_NOT_A_NUMBER
from tests.factories import make_folder, make_item, make_schema


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "fleet")


def _md(item):
    item.refresh_from_db()
    return item.client_metadata


def test_declaring_a_field_writes_a_new_version(workspace, owner):
    first = schema_declare_field(workspace=workspace, user=owner, field={"name": "weather", "type": "string"})
    second = schema_declare_field(
        workspace=workspace, user=owner,
        field={"field_name": "priority", "field_type": "enum", "enum_options": ["Low", "High"], "is_multi": False},
    )
    assert (first.version, second.version) == (1, 2)
    assert first.fields == [
        {"name": "weather", "type": "string", "options": [], "is_multi": False, "description": "", "unit": ""}
    ]
    schema = schema_current(workspace=workspace)
    assert [s.name for s in schema] == ["weather", "priority"]
    assert schema.get("priority").type == FieldType.ENUM
    assert second.created_by == owner


def test_declaring_a_field_twice_is_refused(workspace, owner):
    schema_declare_field(workspace=workspace, user=owner, field={"name": "weather", "type": "string"})
    with pytest.raises(SchemaError) as exc:
        schema_declare_field(workspace=workspace, user=owner, field={"name": "weather", "type": "float"})
    assert exc.value.message == SCHEMA_FIELD_EXISTS.format(name="weather")
    assert MetadataSchema.objects.count() == 1


def test_a_bad_declaration_is_refused_with_its_reason(workspace, owner):
    with pytest.raises(SchemaError) as exc:
        schema_declare_field(workspace=workspace, user=owner, field={"name": "keyframes", "type": "string"})
    assert exc.value.message == FIELD_NAME_RESERVED.format(name="keyframes")


def test_schema_changed_is_sent_after_commit(workspace, owner, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, workspace, schema, **kwargs):
        seen.append(schema.version)

    schema_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            schema_declare_field(workspace=workspace, user=owner, field={"name": "w", "type": "string"})
    finally:
        schema_changed.disconnect(receiver)
    assert seen == [1]


def test_dropping_a_field_keeps_its_values_on_items(workspace, owner, folder):
    make_schema(workspace, [{"name": "weather", "type": "string"}, {"name": "t", "type": "float"}])
    item = make_item(folder, metadata={"weather": "Sunny", "t": 3})
    row = schema_drop_field(workspace=workspace, user=owner, name="weather")
    assert [f["name"] for f in row.fields] == ["t"]
    assert _md(item) == {"weather": "Sunny", "t": 3}
    with pytest.raises(SchemaError) as exc:
        schema_drop_field(workspace=workspace, user=owner, name="weather")
    assert exc.value.message == SCHEMA_FIELD_UNKNOWN.format(name="weather")


def test_an_import_dry_run_lists_added_changed_and_dropped_without_writing(workspace, owner):
    make_schema(
        workspace,
        [{"name": "weather", "type": "string"}, {"name": "t", "type": "float"}, {"name": "old", "type": "link"}],
    )
    diff = schema_import(
        workspace=workspace, user=owner, dry_run=True,
        fields=[
            {"name": "weather", "type": "string", "description": "Sky"},
            {"name": "t", "type": "float"},
            {"field_name": "colors", "field_type": "enum", "enum_options": ["red"], "is_multi": True},
        ],
    )
    assert [s.name for s in diff.added] == ["colors"]
    assert [(c.name, c.changes) for c in diff.changed] == [("weather", ["description"])]
    assert [s.name for s in diff.dropped] == ["old"]
    assert [s.name for s in diff.unchanged] == ["t"]
    assert not diff.applied
    assert MetadataSchema.objects.count() == 1


def test_a_confirmed_import_replaces_the_schema_as_a_new_version(workspace, owner, folder):
    make_schema(workspace, [{"name": "old", "type": "link"}])
    item = make_item(folder, metadata={"old": "https://a.example"})
    diff = schema_import(workspace=workspace, user=owner, dry_run=False, fields=[{"name": "w", "type": "string"}])
    assert diff.applied and diff.schema.version == 2
    assert [s.name for s in schema_current(workspace=workspace)] == ["w"]
    assert "dropped old" in diff.schema.note
    assert _md(item) == {"old": "https://a.example"}
    assert MetadataSchema.objects.get(workspace=workspace, version=1).fields[0]["name"] == "old"


def test_importing_the_same_schema_writes_nothing(workspace, owner):
    make_schema(workspace, [{"name": "w", "type": "string"}])
    diff = schema_import(workspace=workspace, user=owner, dry_run=False, fields=[{"name": "w", "type": "string"}])
    assert diff.is_empty and not diff.applied
    assert MetadataSchema.objects.count() == 1


def test_an_import_reports_every_bad_field(workspace, owner):
    with pytest.raises(SchemaError) as exc:
        schema_import(
            workspace=workspace, user=owner, dry_run=True,
            fields=[{"name": "a", "type": "string"}, {"name": "a", "type": "float"}, {"name": "$b", "type": "x"}],
        )
    assert [(e["index"], e["msg"]) for e in exc.value.errors] == [
        (2, SCHEMA_FIELD_DUPLICATE.format(name="a")),
        (3, "The field name '$b' must not start with '$'."),
    ]


def test_a_schema_document_is_a_list_or_an_object_with_fields():
    assert schema_document_fields('[{"name": "a"}]') == [{"name": "a"}]
    assert schema_document_fields('{"fields": [{"name": "a"}]}') == [{"name": "a"}]
    with pytest.raises(SchemaError) as exc:
        schema_document_fields('{"name": "a"}')
    assert exc.value.message == SCHEMA_DOCUMENT_SHAPE
    with pytest.raises(SchemaError) as exc:
        schema_document_fields("[{")
    assert exc.value.message == SCHEMA_DOCUMENT_JSON.format(
        error="Expecting property name enclosed in double quotes", line=1, column=3
    )


def test_a_type_change_first_reports_the_values_that_do_not_convert(workspace, owner, folder):
    make_schema(workspace, [{"name": "t", "type": "string", "unit": "°C"}])
    fits = make_item(folder, metadata={"t": "21.5"})
    bad = make_item(folder, "bad.jpg", metadata={"t": "warm"})
    make_item(folder, metadata={"other": 1})
    diff = schema_change_field_type(workspace=workspace, user=owner, name="t", type="float", dry_run=True)
    report = diff.changed[0].conversion
    assert (report.holding, report.fitting, report.converted, report.failed) == (2, 0, 1, 1)
    assert report.failed_items == [
        {"item": bad.pk, "uid": str(bad.uid), "title": "bad.jpg", "value": "warm", "msg": VALUE_NOT_A_NUMBER}
    ]
    assert _md(fits) == {"t": "21.5"}
    assert schema_current(workspace=workspace).get("t").type == FieldType.STRING


def test_a_confirmed_type_change_converts_the_rest_in_one_undoable_change_set(workspace, owner, folder):
    make_schema(workspace, [{"name": "t", "type": "string", "unit": "°C"}])
    fits = make_item(folder, metadata={"t": "21.5"})
    bad = make_item(folder, metadata={"t": "warm"})
    diff = schema_change_field_type(workspace=workspace, user=owner, name="t", type="float", dry_run=False)
    spec = schema_current(workspace=workspace).get("t")
    assert (spec.type, spec.unit) == (FieldType.FLOAT, "°C")
    assert _md(fits) == {"t": 21.5}
    assert _md(bad) == {"t": "warm"}
    assert diff.change_set.operation == "convert" and diff.change_set.item_count == 1
    assert diff.change_set.source == f"schema:v{diff.schema.version}"
    change_set_undo(change_set=diff.change_set, user=owner)
    assert _md(fits) == {"t": "21.5"}


def test_narrowing_enum_options_reports_values_outside_them(workspace, owner, folder):
    make_schema(workspace, [{"name": "w", "type": "enum", "options": ["Sunny", "Rain", "Fog"]}])
    make_item(folder, metadata={"w": "Fog"})
    make_item(folder, metadata={"w": "Rain"})
    diff = schema_change_field(
        workspace=workspace, user=owner, name="w", field={"type": "enum", "options": ["Sunny", "Rain"]}
    )
    report = diff.changed[0].conversion
    assert (report.holding, report.fitting, report.failed) == (2, 1, 1)
    assert not ChangeSet.objects.exists()


def test_a_description_change_needs_no_conversion(workspace, owner, folder):
    make_schema(workspace, [{"name": "w", "type": "string"}])
    make_item(folder, metadata={"w": "x"})
    diff = schema_change_field(
        workspace=workspace, user=owner, name="w", field={"type": "string", "description": "Sky"}, dry_run=False
    )
    assert diff.changed[0].conversion is None
    assert schema_current(workspace=workspace).get("w").description == "Sky"
    assert diff.change_set is None


def test_an_import_refuses_a_key_it_does_not_know_and_names_it(workspace, owner):
    make_schema(workspace, [{"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True}])
    with pytest.raises(SchemaError) as exc:
        schema_import(workspace=workspace, user=owner, dry_run=False,
                      fields=[{"name": "colors", "type": "enum", "options": ["red", "blue"], "multi": True}])
    assert exc.value.errors == [{"index": 1, "name": "colors", "msg": SCHEMA_FIELD_KEY_UNKNOWN.format(
        key="multi", hint=" (did you mean 'is_multi'?)", known="name, type, options, is_multi, description, unit, dimension, distance")}]
    assert exc.value.message.startswith("Field 1 (colors): Unknown key 'multi' (did you mean 'is_multi'?)")
    assert schema_current(workspace=workspace).get("colors").is_multi
    assert MetadataSchema.objects.filter(workspace=workspace).count() == 1
    with pytest.raises(SchemaError) as exc:
        schema_import(workspace=workspace, user=owner, fields=[{"name": "a", "type": "string", "descripton": "x"}])
    assert "Unknown key 'descripton' (did you mean 'description'?)" in exc.value.message
    # Visual Layer's keys are known.
    schema_import(workspace=workspace, user=owner, fields=[{"field_name": "a", "field_type": "enum", "enum_options": ["x"]}])


def test_descriptions_the_file_leaves_out_are_dropped_unless_kept(workspace, owner):
    make_schema(workspace, [{"name": "weather", "type": "string", "description": "Sky at capture time"},
                            {"name": "lens", "type": "string", "description": "Focal length"}])
    fields = [{"name": "weather", "type": "string"}, {"name": "lens", "type": "string", "description": "New"}]
    diff = schema_import(workspace=workspace, user=owner, fields=fields)
    assert [(c.name, c.changes) for c in diff.changed] == [("weather", ["description"]), ("lens", ["description"])]
    diff = schema_import(workspace=workspace, user=owner, fields=fields, keep_descriptions=True, dry_run=False)
    schema = schema_current(workspace=workspace)
    assert (schema.get("weather").description, schema.get("lens").description) == ("Sky at capture time", "New")


def test_the_schema_document_imports_back_unchanged(workspace, owner):
    make_schema(workspace, [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "description": "Sky", "unit": ""},
        {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
        {"name": "temperature", "type": "float", "unit": "°C"},
        {"name": "captured_at", "type": "datetime"}, {"name": "dark", "type": "boolean"},
        {"name": "count", "type": "integer"}, {"name": "source", "type": "link"}, {"name": "camera", "type": "string"},
    ])
    document = schema_document(schema_current(workspace=workspace))
    fields = schema_document_fields(json.dumps(document))
    diff = schema_import(workspace=workspace, user=owner, fields=fields, dry_run=False)
    assert diff.is_empty and not diff.applied
    assert MetadataSchema.objects.filter(workspace=workspace).count() == 1

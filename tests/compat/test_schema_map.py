import pytest

from metadata_site.compat.encord.schema_map import (
    FLAT_ENUM_NEW,
    SchemaMappingError,
    fields_from_flat,
    fields_from_v2,
    schema_to_flat,
    schema_to_v2,
)
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema


def _schema(*specs: FieldSpec) -> Schema:
    return Schema(version=1, fields={s.name: s for s in specs})


CURRENT = _schema(
    FieldSpec("camera", FieldType.STRING, description="which rig"),
    FieldSpec("temperature", FieldType.FLOAT, unit="°C"),
    FieldSpec("count", FieldType.INTEGER),
    FieldSpec("dark", FieldType.BOOLEAN),
    FieldSpec("captured_at", FieldType.DATETIME),
    FieldSpec("weather", FieldType.ENUM, options=("Rain", "Sunny")),
    FieldSpec("colors", FieldType.ENUM, options=("red", "blue"), is_multi=True),
    FieldSpec("source", FieldType.LINK),
)


def test_every_type_survives_a_round_trip_through_the_sdk_shape():
    assert fields_from_v2(schema_to_v2(CURRENT), CURRENT) == [s.to_dict() for s in CURRENT]


def test_it_maps_sdk_options_to_our_types():
    payload = {
        "a": {"ty": "variant", "hint": "number"},
        "b": {"ty": "variant", "hint": "varchar"},
        "c": {"ty": "variant", "hint": "text"},
        "d": {"ty": "variant", "hint": "boolean"},
        "e": {"ty": "variant", "hint": "datetime"},
        "f": {"ty": "enum", "values": ["x", "y"]},
        "g": {"ty": "varchar", "max_length": 100},
        "h": {"ty": "number", "format": "F32"},
        "i": {"ty": "variant", "hint": "uuid"},
    }
    got = {f["name"]: (f["type"], tuple(f["options"])) for f in fields_from_v2(payload, _schema())}
    assert got == {
        "a": ("float", ()), "b": ("string", ()), "c": ("string", ()), "d": ("boolean", ()),
        "e": ("datetime", ()), "f": ("enum", ("x", "y")), "g": ("string", ()), "h": ("float", ()),
        "i": ("string", ()),
    }


def test_a_tombstone_removes_the_key():
    payload = schema_to_v2(CURRENT)
    payload["camera"] = {"ty": "tombstone", "deleted_ty": payload["camera"]}
    assert "camera" not in [f["name"] for f in fields_from_v2(payload, CURRENT)]


def test_a_changed_type_keeps_the_description():
    payload = {**schema_to_v2(CURRENT), "camera": {"ty": "variant", "hint": "number"}}
    camera = next(f for f in fields_from_v2(payload, CURRENT) if f["name"] == "camera")
    assert (camera["type"], camera["description"]) == ("float", "which rig")


@pytest.mark.parametrize("option", [{"ty": "embedding", "size": 512, "api": None}, {"ty": "geospatial"}, "number"])
def test_it_refuses_types_we_cannot_store(option):
    with pytest.raises(SchemaMappingError, match="'k'"):
        fields_from_v2({"k": option}, _schema())


def test_the_flat_schema_round_trips_and_keeps_our_types():
    assert schema_to_flat(CURRENT)["count"] == "number"
    assert fields_from_flat(schema_to_flat(CURRENT), CURRENT) == [s.to_dict() for s in CURRENT]


def test_a_new_flat_enum_is_refused_because_it_has_no_options():
    with pytest.raises(SchemaMappingError, match="new enum"):
        fields_from_flat({"mood": "enum"}, _schema())
    assert FLAT_ENUM_NEW


def test_flat_long_string_is_a_string():
    assert fields_from_flat({"notes": "long_string"}, _schema())[0]["type"] == "string"

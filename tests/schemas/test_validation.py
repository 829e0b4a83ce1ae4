import pytest

from metadata_site.schemas import conversion as c
from metadata_site.schemas import declarations as d
from metadata_site.schemas import validation as v
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

STRING = FieldSpec("note", FieldType.STRING)
FLOAT = FieldSpec("temperature", FieldType.FLOAT)
INTEGER = FieldSpec("count", FieldType.INTEGER)
BOOLEAN = FieldSpec("dark", FieldType.BOOLEAN)
DATETIME = FieldSpec("captured_at", FieldType.DATETIME)
ENUM = FieldSpec("weather", FieldType.ENUM, options=("Sunny", "Rain", "Fog"))
MULTI = FieldSpec("colors", FieldType.ENUM, options=("red", "green", "blue"), is_multi=True)
LINK = FieldSpec("source", FieldType.LINK)

GOOD = [
    (STRING, "hello", "hello"),
    (STRING, "", ""),
    (STRING, "x" * 8192, "x" * 8192),
    (FLOAT, 31.5, 31.5),
    (FLOAT, 12, 12),
    (FLOAT, -0.0, -0.0),
    (INTEGER, 7, 7),
    (INTEGER, 3.0, 3),
    (INTEGER, -2, -2),
    (BOOLEAN, True, True),
    (BOOLEAN, False, False),
    (DATETIME, "2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z"),
    (DATETIME, "2024-05-01T14:30:00+02:00", "2024-05-01T12:30:00Z"),
    (DATETIME, "2024-05-01T00:30:00-03:00", "2024-05-01T03:30:00Z"),
    (DATETIME, "2024-05-01T12:30:00.250Z", "2024-05-01T12:30:00.25Z"),
    (DATETIME, "2024-05-01T12:30:00.123456789+01:00", "2024-05-01T11:30:00.123456789Z"),
    (DATETIME, "2024-05-01T12:30:00.000Z", "2024-05-01T12:30:00Z"),
    (DATETIME, "2024-05-01t12:30:00z", "2024-05-01T12:30:00Z"),
    # A date without a time, as the Encord documentation writes them: midnight UTC, stored in the one form.
    (DATETIME, "2024-05-01", "2024-05-01T00:00:00Z"),
    (DATETIME, "2024-02-29", "2024-02-29T00:00:00Z"),
    (ENUM, "Rain", "Rain"),
    (MULTI, ["blue", "red"], ["blue", "red"]),
    (MULTI, [], []),
    (LINK, "https://example.com/a?b=1", "https://example.com/a?b=1"),
    (LINK, "http://10.0.0.1:8080", "http://10.0.0.1:8080"),
]


@pytest.mark.parametrize(("spec", "value", "stored"), GOOD)
def test_it_accepts_and_normalises_good_values(spec, value, stored):
    result = v.validate_value(spec, value)
    assert result == stored
    assert type(result) is type(stored)


OPTIONS = "Sunny, Rain, Fog"
BAD = [
    (STRING, 5, v.VALUE_NOT_A_STRING),
    (STRING, None, v.VALUE_NOT_A_STRING),
    (STRING, ["a"], v.VALUE_NOT_A_STRING),
    (STRING, "x" * 8193, v.VALUE_STRING_TOO_LONG.format(length=8193)),
    (STRING, "a\x00b", v.VALUE_NUL_CHARACTER),
    (STRING, "ab\ud800", v.VALUE_LONE_SURROGATE.format(code="\\ud800", position=2)),
    (STRING, "é\udfff", v.VALUE_LONE_SURROGATE.format(code="\\udfff", position=1)),
    (LINK, "https://example.com/\ud800", v.VALUE_LONE_SURROGATE.format(code="\\ud800", position=20)),
    (DATETIME, "9999-12-31T23:00:00-23:59", v.VALUE_DATETIME_OUT_OF_RANGE),
    (DATETIME, "0001-01-01T00:00:00+01:00", v.VALUE_DATETIME_OUT_OF_RANGE),
    (FLOAT, "31.5", v.VALUE_NOT_A_NUMBER),
    (FLOAT, True, v.VALUE_NOT_A_NUMBER),
    (FLOAT, float("nan"), v.VALUE_NOT_FINITE),
    (FLOAT, float("inf"), v.VALUE_NOT_FINITE),
    (INTEGER, 3.5, v.VALUE_NOT_AN_INTEGER),
    (INTEGER, "3", v.VALUE_NOT_AN_INTEGER),
    (INTEGER, False, v.VALUE_NOT_AN_INTEGER),
    (BOOLEAN, "true", v.VALUE_NOT_A_BOOLEAN),
    (BOOLEAN, 1, v.VALUE_NOT_A_BOOLEAN),
    (DATETIME, "2024-05-01T12:30:00", v.VALUE_DATETIME_NAIVE),
    (DATETIME, "2024-02-30", v.VALUE_NOT_A_DATETIME),
    (DATETIME, "2024-5-01", v.VALUE_NOT_A_DATETIME),
    (DATETIME, "20240501", v.VALUE_NOT_A_DATETIME),
    (DATETIME, "2024-02-30T12:00:00Z", v.VALUE_NOT_A_DATETIME),
    (DATETIME, "yesterday", v.VALUE_NOT_A_DATETIME),
    (DATETIME, 1714566600, v.VALUE_NOT_A_DATETIME),
    (ENUM, "Snow", v.VALUE_NOT_AN_OPTION.format(options=OPTIONS)),
    (ENUM, "sunny", v.VALUE_NOT_AN_OPTION.format(options=OPTIONS)),
    (ENUM, ["Rain"], v.VALUE_NOT_AN_OPTION.format(options=OPTIONS)),
    (MULTI, "red", v.VALUE_NOT_A_LIST),
    (MULTI, ["red", "pink"], v.VALUE_NOT_AN_OPTION.format(options="red, green, blue")),
    (MULTI, ["red", "red"], v.VALUE_DUPLICATE_OPTION.format(option="red")),
    (LINK, "example.com", v.VALUE_NOT_A_LINK),
    (LINK, "ftp://example.com/x", v.VALUE_NOT_A_LINK),
    (LINK, "https://", v.VALUE_NOT_A_LINK),
    (LINK, "https://exa mple.com", v.VALUE_NOT_A_LINK),
    (LINK, 42, v.VALUE_NOT_A_LINK),
]


@pytest.mark.parametrize(("spec", "value", "message"), BAD)
def test_it_rejects_bad_values_with_a_precise_message(spec, value, message):
    with pytest.raises(v.FieldValueError) as exc:
        v.validate_value(spec, value)
    assert exc.value.message == message


def test_the_message_lists_only_the_first_ten_options_of_a_long_enum():
    spec = FieldSpec("k", FieldType.ENUM, options=tuple(f"o{i}" for i in range(12)))
    with pytest.raises(v.FieldValueError) as exc:
        v.validate_value(spec, "nope")
    assert exc.value.message == v.VALUE_NOT_AN_OPTION.format(
        options="o0, o1, o2, o3, o4, o5, o6, o7, o8, o9 (and 2 more)"
    )


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (STRING, {"type": "string", "maxLength": 8192}),
        (FLOAT, {"type": "number"}),
        (DATETIME, {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]}),
        (ENUM, {"type": "string", "enum": ["Sunny", "Rain", "Fog"]}),
        (MULTI, {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "uniqueItems": True}),
    ],
)
def test_each_field_compiles_to_a_json_schema_fragment(spec, fragment):
    assert v.field_json_schema(spec) == fragment


SCHEMA = Schema(version=1, fields={s.name: s for s in (FLOAT, DATETIME, ENUM, MULTI)})


def test_it_validates_a_whole_object_and_keeps_undeclared_keys():
    normalised, errors = v.validate_metadata(
        SCHEMA,
        {"temperature": 20, "captured_at": "2024-05-01T14:30:00+02:00", "camera": {"id": 3}, "weather": "Fog"},
    )
    assert errors == []
    assert normalised == {
        "temperature": 20, "captured_at": "2024-05-01T12:30:00Z", "camera": {"id": 3}, "weather": "Fog"
    }


def test_it_reports_every_bad_key_with_the_expected_type_and_the_value_given():
    normalised, errors = v.validate_metadata(SCHEMA, {"temperature": "hot", "weather": "Snow", "ok": 1})
    assert normalised == {"ok": 1}
    assert errors == [
        {"key": "temperature", "msg": v.VALUE_NOT_A_NUMBER, "expected": "a number", "value": "hot"},
        {"key": "weather", "msg": v.VALUE_NOT_AN_OPTION.format(options=OPTIONS),
         "expected": "one of the options", "value": "Snow"},
    ]


def test_a_null_is_dropped_in_a_full_object_and_kept_as_a_removal_in_a_patch():
    assert v.validate_metadata(SCHEMA, {"weather": None, "x": None}) == ({}, [])
    assert v.validate_metadata(SCHEMA, {"weather": None, "x": None}, partial=True) == (
        {"weather": None, "x": None}, []
    )


def test_metadata_that_is_not_an_object_is_an_error():
    assert v.validate_metadata(SCHEMA, ["a"])[1][0]["msg"] == v.METADATA_NOT_AN_OBJECT


def test_undeclared_keys_and_values_anywhere_in_the_json_must_be_valid_unicode():
    _, errors = v.validate_metadata(SCHEMA, {"raw": {"deep": [1, {"x": "\udc00"}]}, "k\ud800": 1, "ok": "é"})
    assert [(e["key"], e["msg"]) for e in errors] == [
        ("raw", v.VALUE_LONE_SURROGATE.format(code="\\udc00", position=0)),
        ("k\\ud800", v.VALUE_LONE_SURROGATE.format(code="\\ud800", position=1)),
    ]
    assert errors[0]["value"] == {"deep": [1, {"x": "\\udc00"}]}, "the error quotes the value in a storable form"


def test_the_edges_of_the_datetime_range_are_accepted():
    assert v.validate_value(DATETIME, "9999-12-31T23:59:59.999Z") == "9999-12-31T23:59:59.999Z"
    assert v.validate_value(DATETIME, "9999-12-31T23:00:00+23:59") == "9999-12-30T23:01:00Z"
    assert v.validate_value(DATETIME, "0001-01-01T00:00:00-01:00") == "0001-01-01T01:00:00Z"


@pytest.mark.parametrize("declaration", [
    {"name": "w", "type": "enum", "options": ["ok", "b\ud800"]},
    {"name": "w", "type": "string", "description": "\udfff"},
    {"name": "w", "type": "string", "unit": "m\x00"},
])
def test_a_declaration_with_text_that_cannot_be_stored_is_refused(declaration):
    with pytest.raises(d.FieldDeclarationError):
        d.clean_field_declaration(declaration)


def test_undeclared_values_must_be_storable_json():
    _, errors = v.validate_metadata(SCHEMA, {"raw": [1.0, float("nan")], "txt": "a\x00"})
    assert [(e["key"], e["msg"]) for e in errors] == [
        ("raw", v.VALUE_NOT_FINITE), ("txt", v.VALUE_NUL_CHARACTER)
    ]


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ([0, 12, 40], "video", None),
        ([0, 12], None, None),
        ([0, -1], "video", v.VALUE_KEYFRAMES),
        ([1.5], "video", v.VALUE_KEYFRAMES),
        ([True], "video", v.VALUE_KEYFRAMES),
        ("0,12", "video", v.VALUE_KEYFRAMES),
        ([0, 12], "image", v.VALUE_KEYFRAMES_NOT_VIDEO),
    ],
)
def test_keyframes_are_frame_numbers_on_video_items(value, kind, message):
    normalised, errors = v.validate_metadata(SCHEMA, {"keyframes": value}, item_kind=kind)
    if message is None:
        assert errors == [] and normalised == {"keyframes": value}
    else:
        assert errors[0]["msg"] == message
        assert errors[0]["expected"] == v.EXPECTED_KEYFRAMES


# --- declarations ----------------------------------------------------------------------------------


def test_a_declaration_in_our_shape_becomes_a_field_spec():
    spec = d.clean_field_declaration(
        {"name": " weather ", "type": "enum", "options": ["Sunny", "Rain"], "description": "Sky", "unit": ""}
    )
    assert spec == FieldSpec("weather", FieldType.ENUM, options=("Sunny", "Rain"), description="Sky")


def test_a_declaration_in_the_visual_layer_shape_is_accepted():
    spec = d.clean_field_declaration(
        {"field_name": "multi_colors", "field_type": "enum", "enum_options": ["red", "blue"], "is_multi": True}
    )
    assert spec == FieldSpec("multi_colors", FieldType.ENUM, options=("red", "blue"), is_multi=True)


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"type": "string"}, d.FIELD_NAME_MISSING),
        ({"name": "  ", "type": "string"}, d.FIELD_NAME_MISSING),
        ({"name": "$price", "type": "float"}, d.FIELD_NAME_DOLLAR.format(name="$price")),
        ({"name": "a/b", "type": "float"}, d.FIELD_NAME_CHARACTERS.format(name="a/b")),
        ({"name": "a" * 101, "type": "float"}, d.FIELD_NAME_TOO_LONG),
        ({"name": "keyframes", "type": "string"}, d.FIELD_NAME_RESERVED.format(name="keyframes")),
        ({"name": "x", "type": "number"}, d.FIELD_TYPE_UNKNOWN.format(type="number")),
        ({"name": "x"}, d.FIELD_TYPE_UNKNOWN.format(type=None)),
        ({"name": "x", "type": "enum"}, d.FIELD_OPTIONS_MISSING),
        ({"name": "x", "type": "enum", "options": "a,b"}, d.FIELD_OPTIONS_NOT_A_LIST),
        ({"name": "x", "type": "enum", "options": ["a", ""]}, d.FIELD_OPTION_EMPTY),
        ({"name": "x", "type": "enum", "options": ["a" * 21]}, d.FIELD_OPTION_TOO_LONG.format(option="a" * 21)),
        ({"name": "x", "type": "enum", "options": ["a", "a"]}, d.FIELD_OPTION_DUPLICATE.format(option="a")),
        (
            {"name": "x", "type": "enum", "options": [str(i) for i in range(257)]},
            d.FIELD_OPTIONS_TOO_MANY.format(count=257),
        ),
        ({"name": "x", "type": "string", "options": ["a"]}, d.FIELD_OPTIONS_NOT_ENUM),
        ({"name": "x", "type": "float", "is_multi": True}, d.FIELD_MULTI_NOT_ENUM),
        ({"name": "x", "type": "float", "description": "d" * 1001}, d.FIELD_DESCRIPTION_TOO_LONG),
        ({"name": "x", "type": "float", "unit": "u" * 41}, d.FIELD_UNIT_TOO_LONG),
        ("weather", d.FIELD_NOT_AN_OBJECT),
    ],
)
def test_bad_declarations_are_refused_with_a_precise_message(declaration, message):
    with pytest.raises(d.FieldDeclarationError) as exc:
        d.clean_field_declaration(declaration)
    assert exc.value.message == message


def test_names_may_use_letters_digits_space_dash_underscore_and_dot():
    assert d.clean_field_name("Cam 2.exposure-ms_raw") == "Cam 2.exposure-ms_raw"
    assert d.clean_field_name("température") == "température"


# --- conversions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "converted"),
    [
        (FLOAT, "31.5", 31.5),
        (FLOAT, 3, 3),
        (INTEGER, "12", 12),
        (INTEGER, 4.0, 4),
        (BOOLEAN, "yes", True),
        (BOOLEAN, 0, False),
        (STRING, 3.5, "3.5"),
        (STRING, True, "true"),
        (STRING, ["a", "b"], "a, b"),
        (ENUM, ["Rain"], "Rain"),
        (ENUM, " Fog ", "Fog"),
        (MULTI, "red", ["red"]),
        (DATETIME, "2024-05-01T14:30:00+02:00", "2024-05-01T12:30:00Z"),
    ],
)
def test_values_of_another_type_convert_when_they_can(spec, value, converted):
    assert c.convert_value(spec, value) == converted


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (FLOAT, "warm", v.VALUE_NOT_A_NUMBER),
        (INTEGER, "1.5", v.VALUE_NOT_AN_INTEGER),
        (FLOAT, "nan", v.VALUE_NOT_A_NUMBER),
        (BOOLEAN, "maybe", v.VALUE_NOT_A_BOOLEAN),
        (ENUM, "Snow", v.VALUE_NOT_AN_OPTION.format(options=OPTIONS)),
        (DATETIME, "2024-05-01 noon", v.VALUE_NOT_A_DATETIME),
    ],
)
def test_values_that_do_not_convert_say_why(spec, value, message):
    with pytest.raises(v.FieldValueError) as exc:
        c.convert_value(spec, value)
    assert exc.value.message == message

"""Table tests of every strict-JSON rule and its exact message."""

import json
import math
import time

import pytest

from metadata_site.lib import strictjson
from metadata_site.lib.strictjson import StrictJSONError, check_value, format_path, parse

VALID = [
    ("{}", {}),
    ('  {"a": 1}  ', {"a": 1}),
    (
        '{"a": [1, 2.5, true, false, null, "x"], "b": {"c": {}}}',
        {"a": [1, 2.5, True, False, None, "x"], "b": {"c": {}}},
    ),
    ('{"emoji": "\\ud83d\\ude00"}', {"emoji": "\U0001f600"}),
    ('{"a": {"a": 1}}', {"a": {"a": 1}}),  # the same key in different objects is fine
    ('[{"a": 1}, {"a": 2}]'.replace("[", '{"list": [').replace("]", "]}"), {"list": [{"a": 1}, {"a": 2}]}),
    ('{"brackets in strings": "[[[[{{{{", "quote": "\\"[{"}', {"brackets in strings": "[[[[{{{{", "quote": '"[{'}),
    ('{"big": 1e308, "neg": -1.5e-10}', {"big": 1e308, "neg": -1.5e-10}),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_it_parses_valid_objects(text, expected):
    assert parse(text) == expected


INVALID = [
    # (text, message, line, column)
    ("", strictjson.EMPTY, 1, 1),
    ("  \n ", strictjson.EMPTY, 1, 1),
    ("{", "Invalid JSON at line 1, column 2: expecting property name enclosed in double quotes.", 1, 2),
    ('{\n  "a": 1\n  "b": 2\n}', "Invalid JSON at line 3, column 3: expecting ',' delimiter.", 3, 3),
    ("{'a': 1}", "Invalid JSON at line 1, column 2: expecting property name enclosed in double quotes.", 1, 2),
    ('{"a": 1} x', "Invalid JSON at line 1, column 10: extra data.", 1, 10),
    ('{"a": "x\ny"}', "Invalid JSON at line 1, column 9: invalid control character.", 1, 9),
    ("[1, 2]", "The top level must be a JSON object ({...}), not an array.", 1, 1),
    ('\n  "text"', "The top level must be a JSON object ({...}), not a string.", 2, 3),
    ("42", "The top level must be a JSON object ({...}), not a number.", 1, 1),
    ("null", "The top level must be a JSON object ({...}), not null.", 1, 1),
    ("true", "The top level must be a JSON object ({...}), not a boolean.", 1, 1),
    (
        '{"a": 1,\n "b": 2,\n "a": 3}',
        'Duplicate key "a" at line 3, column 2: each key may appear only once in an object.',
        3,
        2,
    ),
    (
        '{"outer": {"k": 1, "k": 2}}',
        'Duplicate key "k" at line 1, column 20: each key may appear only once in an object.',
        1,
        20,
    ),
    ('{"a": NaN}', "NaN at line 1, column 7 is not allowed: JSON numbers must be finite.", 1, 7),
    ('{"a":\n  Infinity}', "Infinity at line 2, column 3 is not allowed: JSON numbers must be finite.", 2, 3),
    ('{"a": [-Infinity]}', "-Infinity at line 1, column 8 is not allowed: JSON numbers must be finite.", 1, 8),
    ('{"a": 1e999}', "1e999 at line 1, column 7 is not allowed: JSON numbers must be finite.", 1, 7),
    ('{"a": "\\u0000"}', "A string at $.a contains a NUL character (\\u0000), which cannot be stored.", None, None),
    (
        '{"a b": ["\\ud800"]}',
        'A string at $["a b"][0] contains the lone surrogate \\ud800 (an unpaired surrogate), which is not valid Unicode.',
        None,
        None,
    ),
    ('{"n": ' + "1" * 4001 + "}", "The number at line 1, column 7 has more than 4,000 digits.", 1, 7),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), INVALID)
def test_it_rejects_each_broken_rule_with_its_message(text, message, line, column):
    with pytest.raises(StrictJSONError) as exc:
        parse(text)
    assert (exc.value.message, exc.value.line, exc.value.column) == (message, line, column)
    assert str(exc.value) == message


def test_a_trailing_comma_is_reported_at_its_position():
    # The detail text differs between Python versions; the position does not.
    with pytest.raises(StrictJSONError) as exc:
        parse('{"a": 1,}')
    assert exc.value.message.startswith("Invalid JSON at line 1, column 9: ")
    assert (exc.value.line, exc.value.column) == (1, 9)


def _nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_it_accepts_nesting_of_exactly_64_levels():
    obj = parse(_nested(64))
    depth = 0
    while obj:
        obj, depth = obj["a"], depth + 1
    assert depth == 63  # plus the innermost {}


def test_it_rejects_nesting_of_65_levels_with_the_position_of_the_65th_bracket():
    with pytest.raises(StrictJSONError) as exc:
        parse(_nested(65))
    column = len('{"a": ' * 64) + 1
    assert exc.value.message == strictjson.TOO_DEEP.format(limit=64, line=1, column=column)
    assert (exc.value.line, exc.value.column) == (1, column)


def test_a_10000_deep_input_gets_the_depth_error_not_a_recursion_error():
    for text in ("[" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
        with pytest.raises(StrictJSONError) as exc:
            parse(text)
        assert exc.value.message.startswith("Nesting is deeper than 64 levels")


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert parse('{"s": "' + "[{" * 100 + '"}') == {"s": "[{" * 100}


def test_exactly_1_mb_is_accepted_and_one_byte_more_is_rejected():
    frame = '{"s": ""}'
    text = '{"s": "' + "x" * (strictjson.MAX_BYTES - len(frame)) + '"}'
    assert len(text.encode()) == 1_048_576
    assert parse(text)["s"].startswith("x")
    with pytest.raises(StrictJSONError) as exc:
        parse(text.replace('"x', '"xx', 1))
    assert exc.value.message == "The JSON text is 1,048,577 bytes; at most 1,048,576 bytes (1 MB) are allowed."


def test_the_size_counts_utf8_bytes_not_characters():
    frame = '{"s": ""}'
    text = '{"s": "' + "é" * ((strictjson.MAX_BYTES - len(frame)) // 2 + 1) + '"}'
    assert len(text) < strictjson.MAX_BYTES < len(text.encode())
    with pytest.raises(StrictJSONError, match="at most 1,048,576 bytes"):
        parse(text)


def test_a_near_limit_document_parses_quickly():
    text = json.dumps({"rows": [{"name": "x" * 20, "score": 1.5, "tags": ["a", "b"]}] * 15_000})
    assert len(text) > 800_000
    started = time.perf_counter()
    parse(text)
    # About 0.2 s here; the bound is loose for busy CI machines but catches anything quadratic.
    assert time.perf_counter() - started < 15


CHECK_VALUE = [
    ([1], "The top level must be a JSON object ({...}), not an array."),
    ({"a": math.nan}, "nan at $.a is not allowed: JSON numbers must be finite."),
    ({"a": [math.inf]}, "inf at $.a[0] is not allowed: JSON numbers must be finite."),
    ({"a": {1, 2}}, "The value at $.a is a set, which is not a JSON type."),
    ({1: "x"}, "A key at $ is a number; JSON object keys are strings."),
    ({"a": "\x00"}, "A string at $.a contains a NUL character (\\u0000), which cannot be stored."),
    ({"a": 10**5000}, "The number at $.a has more than 4,000 digits."),
]


@pytest.mark.parametrize(("value", "message"), CHECK_VALUE)
def test_check_value_applies_the_rules_to_parsed_values(value, message):
    with pytest.raises(StrictJSONError) as exc:
        check_value(value)
    assert exc.value.message == message
    assert exc.value.line is None


def test_check_value_limits_depth_without_recursion():
    value: dict = {}
    for _ in range(10_000):
        value = {"a": value}
    with pytest.raises(StrictJSONError) as exc:
        check_value(value)
    assert exc.value.message.startswith("Nesting is deeper than 64 levels at $.a.a.a")


def test_check_value_limits_the_compact_size():
    check_value({"s": "x" * (strictjson.MAX_BYTES - len('{"s":""}'))})
    with pytest.raises(StrictJSONError, match="1,048,577 bytes"):
        check_value({"s": "x" * (strictjson.MAX_BYTES - len('{"s":""}') + 1)})


def test_check_value_accepts_ordinary_json():
    check_value({"a": [1, 2.5, None, True, "x", {"b": []}]})


def test_format_path_quotes_keys_that_are_not_words():
    assert format_path(["a", 0, "b c", "_d1"]) == '$.a[0]["b c"]._d1'

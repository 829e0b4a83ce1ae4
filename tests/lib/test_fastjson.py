import hashlib
import json

import pytest

from metadata_site.items.services import metadata_hash
from metadata_site.lib import fastjson


def _json(value, sort_keys=False):
    return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", [
    {"weather": "Rain", "temperature": 28.25, "colors": ["red", "blue"], "dark": False, "n": 3, "x": None},
    {"é": "ünïcödé \u2028 \U0001f600", "q": "\"\\/\t"},
    [1.5, 1e16, 123456.789, -0.5],
])
def test_it_prints_what_json_dumps_prints(value):
    assert fastjson.dumps(value) == _json(value)
    assert fastjson.dumps(value, sort_keys=True) == _json(value, sort_keys=True)


def test_an_integer_beyond_64_bits_goes_to_json_dumps():
    value = {"big": 2**70, "a": 1}
    assert fastjson.dumps(value, sort_keys=True) == '{"a":1,"big":1180591620717411303424}'


def test_a_lone_surrogate_goes_to_json_dumps():
    assert fastjson.dumps({"s": "\ud800"}) == _json({"s": "\ud800"})


def test_the_hash_of_metadata_is_the_hash_of_its_sorted_json_dump_whatever_its_floats():
    for metadata in ({"b": 28.25, "a": "x"}, {"tiny": 1e-05, "a": [2.5e-07]}, {"big": 2**70}):
        expected = hashlib.sha256(_json(metadata, sort_keys=True).encode()).hexdigest()
        assert metadata_hash(metadata) == expected

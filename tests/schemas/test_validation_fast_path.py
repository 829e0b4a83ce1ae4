"""The plain-Python fast path of value validation accepts exactly what the JSON Schema path accepts, with the
same normalised value, and leaves every rejection (and its message) to the JSON Schema path."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from metadata_site.schemas.fields import FieldSpec, FieldType
from metadata_site.schemas.validation import FieldValueError, _FieldValidator

OPTIONS = ("Sunny", "Rain", "Fog", "a\x00b", "", "Ünï")
SPECS = [
    FieldSpec("s", FieldType.STRING),
    FieldSpec("f", FieldType.FLOAT),
    FieldSpec("i", FieldType.INTEGER),
    FieldSpec("b", FieldType.BOOLEAN),
    FieldSpec("d", FieldType.DATETIME),
    FieldSpec("e", FieldType.ENUM, options=OPTIONS),
    FieldSpec("m", FieldType.ENUM, options=OPTIONS, is_multi=True),
    FieldSpec("l", FieldType.LINK),
]

datetimes = st.builds(
    lambda y, mo, d, h, mi, s, z: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{z}",
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61),
    st.integers(0, 61), st.sampled_from(["Z", "z", "", "+02:00", ".5Z", "Z\n", " ", "-23:59", "+23:59"]),
)
links = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:/", ""]),
    st.sampled_from(["example.com", "", "a b", "[::1]", "10.0.0.1:8080", "x\x00y", "a.", "-", "h:99999", "h:", "é.com"]),
    st.sampled_from(["", "/a?b=1", "/ sp", "\n", "#f", "/\x00", "/\ud800", "?\udfff"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(OPTIONS), st.sampled_from(["\ud800", "a\udc00b", "é\udbff"]), datetimes, links, st.just("x" * 8193), st.just("x" * 8192),
)
values = st.one_of(scalars, st.lists(st.one_of(st.sampled_from(OPTIONS), scalars), max_size=5))


def _outcome(check, value):
    try:
        result = check(value)
    except FieldValueError as exc:
        return ("error", exc.message)
    except (OverflowError, ValueError) as exc:  # the same crash on both paths is still the same outcome
        return ("raised", type(exc).__name__)
    return ("ok", _typed(result))


def _typed(value):
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


@settings(max_examples=400, deadline=None)
@given(value=values)
def test_the_fast_path_and_the_json_schema_path_agree_on_every_value(value):
    for spec in SPECS:
        fast = _FieldValidator(spec)
        slow = _FieldValidator(spec)
        assert _outcome(fast.check, value) == _outcome(slow.check_slow, value), (spec.type, value)


def test_the_fast_path_accepts_the_benchmark_corpus_values_without_the_json_schema_path():
    cases = {
        SPECS[4]: "2025-03-01T00:00:00Z",
        SPECS[6]: ["Rain", "Sunny"],
        SPECS[7]: "https://images.example.com/0000001.jpg",
        SPECS[1]: 31.5,
    }
    for spec, value in cases.items():
        validator = _FieldValidator(spec)
        validator.check_slow = None  # the fast path must not fall through for these
        assert validator.check(value) == value

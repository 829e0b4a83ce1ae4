"""Hypothesis fuzz of the filter language and the import file readers: any input gives a parsed result or
the module's own clear error, never another exception (which would be a 500 in a view or a crashed task)."""

import tempfile
from pathlib import Path

from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.explorer import query as fl
from metadata_site.imports.parsers import FORMATS, ImportFileError, Reader

from ..explorer.test_filters_parsing import SCHEMA

FIELDS = list(SCHEMA.fields) + ["nope", "", "title.x", "__class__"]
OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "between", "contains", "startswith", "in", "has_any", "has_all",
       "has_none", "is_set", "is_unset", "bogus", ""]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1e999", "NaN", "-inf", "..", "1..", "..2", "a,b,,", "2024-13-45T99:99", "true", "null",
                     "Sunny,Rain", "%00", "\x00", "1" * 400, "'; DROP TABLE items_item; --", "{{7*7}}"]),
)
CONDITION = st.one_of(
    st.builds(lambda f, o, v: f"{f}:{o}:{v}", st.sampled_from(FIELDS), st.sampled_from(OPS), VALUES),
    st.text(max_size=60),
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    f=st.lists(CONDITION, max_size=6),
    any_=st.lists(CONDITION, max_size=3),
    scope=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["folder:1", "dataset:x", "collection:-1",
                                                                        "folder:99999999999999999999999"])),
    sort=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["-temperature", "title", "--x", "-"])),
)
def test_the_filter_language_parses_or_says_why(f, any_, scope, sort):
    params = QueryDict(mutable=True)
    for value in f:
        params.appendlist("f", value)
    for value in any_:
        params.appendlist("any", value)
    if scope is not None:
        params["scope"] = scope
    if sort is not None:
        params["sort"] = sort
    try:
        query = fl.parse_query_string(params, schema=SCHEMA)
    except fl.FilterError as err:
        assert str(err)
        return
    # A parsed query round-trips through its canonical parameters.
    assert fl.parse_query_string(QueryDict(mutable=True) | _qd(query.to_params()), schema=SCHEMA) == query


def _qd(pairs) -> QueryDict:
    qd = QueryDict(mutable=True)
    for key, value in (pairs.items() if isinstance(pairs, dict) else pairs):
        for v in value if isinstance(value, list | tuple) else [value]:
            qd.appendlist(key, v)
    return qd


CSV_LIKE = st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8), max_size=5),
                    max_size=6).map(lambda rows: "\n".join(",".join(r) for r in rows).encode())
JSON_LIKE = st.one_of(
    st.text(alphabet='[]{}",:0123456789.eE-+ truefalsn\\u\n', max_size=80).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                 max_leaves=10).map(lambda v: repr(v).encode()),
)
RAW = st.one_of(st.binary(max_size=200), CSV_LIKE, JSON_LIKE,
                st.sampled_from([b"\xff\xfe{\x00}", b"[" * 5000, b'[{"a": 1e999}]', b"\xef\xbb\xbf[]", b"a,b\n1"]))


@FUZZ
@given(content=RAW, fmt=st.sampled_from(FORMATS))
def test_the_import_readers_read_or_say_why(content, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload.{fmt}"
        path.write_bytes(content)
        reader = Reader(path, fmt)
        try:
            for row in reader.rows(json_shapes=("array", "object"), sections=()):
                assert row.error is None or (isinstance(row.error, str) and row.error)
        except ImportFileError as exc:
            assert exc.reason

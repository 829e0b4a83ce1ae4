"""Table tests: good and bad query strings, with the exact messages people see."""

import pytest
from django.http import QueryDict

from metadata_site.explorer import query as fl
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema

SCHEMA = Schema(
    version=1,
    fields={
        s.name: s
        for s in [
            FieldSpec("weather", FieldType.ENUM, options=("Sunny", "Rain")),
            FieldSpec("colors", FieldType.ENUM, options=("red", "blue"), is_multi=True),
            FieldSpec("temperature", FieldType.FLOAT),
            FieldSpec("count", FieldType.INTEGER),
            FieldSpec("captured_at", FieldType.DATETIME),
            FieldSpec("camera", FieldType.STRING),
            FieldSpec("dark", FieldType.BOOLEAN),
            FieldSpec("title", FieldType.STRING),
        ]
    },
)


def parse(qs: str) -> fl.Query:
    return fl.parse_query_string(QueryDict(qs), schema=SCHEMA)


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        ("f=weather:eq:Sunny", [("weather", "eq", "Sunny")]),
        ("f=weather:in:Sunny,Rain", [("weather", "in", ("Sunny", "Rain"))]),
        ("f=temperature:gt:30", [("temperature", "gt", 30.0)]),
        ("f=temperature:between:-5..10.5", [("temperature", "between", (-5.0, 10.5))]),
        ("f=count:lte:3", [("count", "lte", 3)]),
        ("f=captured_at:between:2025-03-01..2025-04-01T00:00:00%2B02:00",
         [("captured_at", "between", ("2025-03-01", "2025-03-31T22:00:00Z"))]),
        # A date without a time stays a day (the whole day, see datetime_terms).
        ("f=captured_at:lte:2024-06-30", [("captured_at", "lte", "2024-06-30")]),
        ("f=captured_at:between:2024-06-30T10:00:00Z..2024-06-30", [
            ("captured_at", "between", ("2024-06-30T10:00:00Z", "2024-06-30"))]),
        ("f=camera:contains:cam-004", [("camera", "contains", "cam-004")]),
        ("f=camera:eq:a:b", [("camera", "eq", "a:b")]),
        ("f=colors:has_any:red", [("colors", "has_any", ("red",))]),
        ("f=colors:has_all:red,blue", [("colors", "has_all", ("red", "blue"))]),
        ("f=dark:eq:true", [("dark", "eq", True)]),
        ("f=dark:ne:0", [("dark", "ne", False)]),
        ("f=camera:is_set", [("camera", "is_set", None)]),
        ("f=camera:is_unset:", [("camera", "is_unset", None)]),
        ("f=kind:in:image,video", [("kind", "in", ("image", "video"))]),
        ("f=title:contains:img", [("title", "contains", "img")]),
        ("f=meta.title:eq:x", [("title", "eq", "x")]),
        ("f=dataset:eq:4", [("dataset", "eq", 4)]),
        ("f=", []),
    ],
)
def test_it_parses_good_filters(qs, expected):
    query = parse(qs)
    assert [(c.field, c.op, c.value) for c in query.all] == expected


def test_it_parses_the_or_group_scope_and_sort():
    query = parse("f=weather:eq:Sunny&any=dark:eq:true&any=temperature:gt:30&scope=folder:3&sort=-captured_at")
    assert [c.field for c in query.any] == ["dark", "temperature"]
    assert query.scope == fl.Scope("folder", 3)
    assert query.sort == fl.Sort("captured_at", True)


@pytest.mark.parametrize(
    ("qs", "message"),
    [
        ("f=weather", "f=weather: expected <field>:<op>:<value>, got 'weather'"),
        ("f=nope:gt:warm", "f=nope:gt:warm: 'nope' expects a number (an undeclared key compares numbers only), got 'warm'"),
        ("f=nope:has_any:a", "f=nope:has_any:a: operator 'has_any' is not allowed for 'nope' (undeclared); allowed: "
         "eq, ne, in, contains, startswith, lt, lte, gt, gte, between, is_set, is_unset"),
        # the parameter is quoted cut to 80 characters: an error never echoes a huge input
        ("f=" + "k" * 201 + ":eq:1", "f=" + "k" * 79 + "…: a metadata key is 1 to 200 characters, got 201"),
        ("f=weather:gt:Sunny",
         "f=weather:gt:Sunny: operator 'gt' is not allowed for 'weather' (enum); allowed: eq, ne, in, is_set, is_unset"),
        ("f=colors:eq:red",
         "f=colors:eq:red: operator 'eq' is not allowed for 'colors' (multi enum); allowed: has_any, has_all, has_none, is_set, is_unset"),
        ("f=weather:eq:Snow", "f=weather:eq:Snow: 'Snow' is not an option of 'weather'; options: Sunny, Rain"),
        ("f=temperature:gt:warm", "f=temperature:gt:warm: 'temperature' expects a number, got 'warm'"),
        ("f=temperature:gt:nan", "f=temperature:gt:nan: 'temperature' expects a number, got 'nan'"),
        ("f=count:eq:1.5", "f=count:eq:1.5: 'count' expects an integer, got '1.5'"),
        ("f=dark:eq:maybe", "f=dark:eq:maybe: 'dark' expects true or false, got 'maybe'"),
        ("f=captured_at:gt:yesterday",
         "f=captured_at:gt:yesterday: 'captured_at' expects an ISO 8601 date or datetime (UTC when no offset), got 'yesterday'"),
        ("f=temperature:between:5", "f=temperature:between:5: a range is <low>..<high>, got '5'"),
        ("f=temperature:between:9..1", "f=temperature:between:9..1: the range '9.0..1.0' is empty (low > high)"),
        ("f=camera:is_set:x", "f=camera:is_set:x: operator 'is_set' takes no value"),
        ("f=camera:eq:", "f=camera:eq:: operator 'eq' needs a value"),
        ("f=kind:eq:box", "f=kind:eq:box: 'box' is not an option of 'kind'; options: image, video, image_group, frame"),
        ("f=dataset:eq:x", "f=dataset:eq:x: 'dataset' expects an id, got 'x'"),
        ("scope=project:1", "scope: expected folder:<id>, dataset:<id> or collection:<id>, got 'project:1'"),
        ("sort=colors", "sort: cannot sort by 'colors'; sort by title or a declared field that is not a multi enum"),
        ("sort=nope", "sort: cannot sort by 'nope'; sort by title or a declared field that is not a multi enum"),
        ("any=weather:lt:1", "any=weather:lt:1: operator 'lt' is not allowed for 'weather' (enum); allowed: eq, ne, in, is_set, is_unset"),
    ],
)
def test_it_rejects_bad_filters_with_a_clear_message(qs, message):
    with pytest.raises(fl.FilterError) as err:
        parse(qs)
    assert str(err.value) == message


def test_it_parses_the_json_form():
    query = fl.parse_json(
        {
            "all": [{"field": "weather", "op": "in", "value": ["Sunny"]}, {"field": "temperature", "op": "between", "value": [1, 2]}],
            "any": [{"field": "dark", "op": "eq", "value": True}],
            "scope": "dataset:2",
            "sort": "title",
        },
        schema=SCHEMA,
    )
    assert [(c.field, c.op, c.value) for c in query.all] == [("weather", "in", ("Sunny",)), ("temperature", "between", (1.0, 2.0))]
    assert query.any[0].value is True
    assert query.scope == fl.Scope("dataset", 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "body: expected a JSON object"),
        ({"all": [{"field": "weather"}]}, 'all[0]: expected {"field": ..., "op": ..., "value": ...}'),
        ({"all": {"field": "weather"}}, "all: expected a list of conditions"),
        ({"all": [{"field": "weather", "op": "eq", "value": ["Sunny"]}]}, "all[0]: 'weather' expects one of the options, got ['Sunny']"),
        ({"any": [{"field": "dark", "op": "eq", "value": "x"}]}, "any[0]: 'dark' expects true or false, got 'x'"),
        ({"where": []}, "body: unknown keys ['where']; expected all, any, scope, sort"),
    ],
)
def test_it_rejects_bad_json_with_a_clear_message(data, message):
    with pytest.raises(fl.FilterError) as err:
        fl.parse_json(data, schema=SCHEMA)
    assert str(err.value) == message


def test_a_filter_value_over_the_limit_is_refused_without_echoing_it():
    long = "x" * 200_000
    with pytest.raises(fl.FilterError) as err:
        parse(f"f=camera:contains:{long}")
    assert err.value.message == fl.FILTER_VALUE_TOO_LONG.format(
        param="f=camera:contains:" + "x" * 63 + "…", limit=1000, length=200_000)
    assert len(err.value.message) < 200
    assert parse("f=camera:contains:" + "x" * 1000).all[0].value == "x" * 1000


@pytest.mark.parametrize("data", [
    {"all": [{"field": "camera", "op": "eq", "value": "y" * 1001}]},
    {"any": [{"field": "weather", "op": "in", "value": ["Sunny"] * 200}]},
    {"all": [{"field": "camera", "op": "in", "value": ["z" * 600, "z" * 600]}]},
])
def test_a_json_filter_value_over_the_limit_is_refused(data):
    with pytest.raises(fl.FilterError, match="a filter value is at most 1,000 characters"):
        fl.parse_json(data, schema=SCHEMA)


def test_a_huge_field_name_or_operator_is_refused_without_echoing_it():
    for qs in (f"f={'n' * 50_000}:eq:1", f"f=camera:{'o' * 50_000}", f"f={'n' * 50_000}"):
        with pytest.raises(fl.FilterError) as err:
            parse(qs)
        assert len(err.value.message) < 400


def test_more_than_50_conditions_in_a_group_are_refused():
    with pytest.raises(fl.FilterError, match="at most 50 conditions"):
        parse("&".join(["f=dark:eq:true"] * 51))
    with pytest.raises(fl.FilterError, match="at most 50 conditions"):
        parse("&".join(["any=dark:eq:true"] * 51))


@pytest.mark.parametrize(("op", "value", "terms"), [
    ("eq", "2024-06-30", (False, [("gte", "2024-06-30"), ("lt", "2024-07-01")])),
    ("ne", "2024-06-30", (True, [("lt", "2024-06-30"), ("gte", "2024-07-01")])),
    ("lt", "2024-06-30", (False, [("lt", "2024-06-30")])),
    ("lte", "2024-06-30", (False, [("lt", "2024-07-01")])),
    ("gt", "2024-06-30", (False, [("gte", "2024-07-01")])),
    ("gte", "2024-06-30", (False, [("gte", "2024-06-30")])),
    ("between", ("2024-03-01", "2024-06-30"), (False, [("gte", "2024-03-01"), ("lt", "2024-07-01")])),
    ("between", ("2024-03-01", "2024-06-30T12:00:00Z"), (False, [("gte", "2024-03-01"),
                                                              ("lte", "2024-06-30T12:00:00Z")])),
    ("lte", "2024-12-31", (False, [("lt", "2025-01-01")])),
    ("lte", "2024-06-30T12:00:00Z", (False, [("lte", "2024-06-30T12:00:00Z")])),
])
def test_a_date_without_a_time_means_the_whole_day(op, value, terms):
    assert fl.datetime_terms(op, value) == terms


def test_a_range_ending_on_the_day_it_starts_in_is_not_empty():
    assert parse("f=captured_at:between:2024-06-30T10:00:00Z..2024-06-30").all[0].value[1] == "2024-06-30"
    with pytest.raises(fl.FilterError, match="is empty"):
        parse("f=captured_at:between:2024-07-01T00:00:00Z..2024-06-30")
    with pytest.raises(fl.FilterError, match="is empty"):
        parse("f=captured_at:between:2024-07-01..2024-06-30")


def test_a_key_no_field_declares_is_an_undeclared_condition_on_its_raw_value():
    query = parse("f=group-id:eq:A&f=meta.kind:is_set&any=size:between:1..2.5")
    assert query.all[0] == fl.Condition("group-id", "eq", "A", undeclared=True)
    assert query.all[1] == fl.Condition("kind", "is_set", None, undeclared=True)
    assert query.any[0] == fl.Condition("size", "between", (1.0, 2.5), undeclared=True)
    # a built-in's name given as meta.<name> prints back the same way
    assert query.all[1].to_param() == "meta.kind:is_set"


def test_typed_json_values_of_an_undeclared_key_become_their_text():
    query = fl.parse_json({"all": [{"field": "n", "op": "in", "value": [3, True, "x"]}]}, schema=SCHEMA)
    assert query.all[0].value == ("3", "true", "x")

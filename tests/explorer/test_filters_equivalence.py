"""Property-based: for generated metadata and filters, the database returns exactly what the
reference evaluator returns, in the same order, through keyset paging, and on PostgreSQL the typed
projection counts the same. Runs on whichever database the suite runs on (SQLite by default, PostgreSQL
with DATABASE_URL)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.explorer import query as fl
from metadata_site.explorer.query.reference import RefItem, evaluate
from metadata_site.items.models import Item
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from metadata_site.schemas.validation import validate_value
from tests.explorer.helpers import assert_database_returns
from tests.factories import make_folder

WEATHER = ("Sunny", "Rain", "Fog")
COLORS = ("red", "green", "blue", "ré\"d")  # the last one is not index-hintable on SQLite
SCHEMA = Schema(
    version=1,
    fields={
        s.name: s
        for s in [
            FieldSpec("weather", FieldType.ENUM, options=WEATHER),
            FieldSpec("colors", FieldType.ENUM, options=COLORS, is_multi=True),
            FieldSpec("temperature", FieldType.FLOAT),
            FieldSpec("count", FieldType.INTEGER),
            FieldSpec("captured_at", FieldType.DATETIME),
            FieldSpec("camera", FieldType.STRING),
            FieldSpec("source", FieldType.LINK),
            FieldSpec("dark", FieldType.BOOLEAN),
        ]
    },
)

# Few distinct characters so that equalities, prefixes and substrings actually happen; % _ \ test
# LIKE escaping, É tests that case-folding is ASCII-only.
text = st.text(alphabet="aAbB-%_\\Éé", min_size=0, max_size=4)
stamps = st.sampled_from(
    ["2024-01-01T00:00:00Z", "2024-06-15T12:30:00Z", "2025-03-01T00:00:00Z", "2025-03-31T23:59:59Z", "2026-01-01T00:00:00Z"]
)
# Dates as filter bounds (a day means the whole day) and as written values (stored as midnight UTC).
days = st.sampled_from(["2024-01-01", "2024-06-15", "2025-03-01", "2025-03-31", "2026-01-01"])
written_datetimes = st.one_of(
    stamps, days, st.sampled_from(["2025-03-31T23:59:59.5Z", "2025-03-31T01:00:00+02:00", "2024-06-15T00:00:00.25Z"])
).map(lambda v: validate_value(SCHEMA.get("captured_at"), v))
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([-1.5, 0.5, 2.25]))
junk = st.one_of(st.none(), st.just("x"), st.just(1), st.just(True), st.just([]), st.just({"a": 1}))

VALUES = {
    "weather": st.sampled_from(WEATHER),
    "colors": st.lists(st.sampled_from(COLORS), max_size=3, unique=True),
    "temperature": numbers,
    "count": st.integers(-3, 3),
    "captured_at": written_datetimes,
    "camera": text,
    "source": text.map(lambda t: "https://x/" + t),
    "dark": st.booleans(),
}


# Keys no field declares, with values of every JSON type (filtered on their raw value).
UNDECLARED = ("group-id", "kind")  # "kind" is a built-in's name: addressed as meta.kind
undeclared_values = st.one_of(
    st.none(), text, st.sampled_from(["1", "true", "0.5"]), numbers, st.booleans(), st.just([]), st.just({"a": 1})
)
undeclared_texts = st.one_of(text.filter(bool), st.sampled_from(["1", "1.0", "-1.5", "true", "false", "0.5", "2.25"]))


@st.composite
def metadata(draw):
    md = {}
    for name, values in VALUES.items():
        choice = draw(st.integers(0, 9))
        if choice < 7:
            md[name] = draw(values)
        elif choice < 9:
            # Wrong type or null: unset for the filters. A date stored as it was given (before the field was
            # declared) is a string that compares as text.
            md[name] = draw(st.one_of(junk, days) if name == "captured_at" else junk)
    for name in UNDECLARED:
        if draw(st.booleans()):
            md[name] = draw(undeclared_values)
    return md


def _undeclared_value_for(op: str, draw):
    if op in (fl.IS_SET, fl.IS_UNSET):
        return None
    if op in (fl.LT, fl.LTE, fl.GT, fl.GTE):
        return draw(numbers)
    if op == fl.BETWEEN:
        return sorted([draw(numbers), draw(numbers)])
    if op == fl.IN:
        return draw(st.lists(undeclared_texts, min_size=1, max_size=3, unique=True))
    return draw(undeclared_texts)


def _value_for(name: str, op: str, draw):
    spec = SCHEMA.get(name)
    family = fl.type_key(spec)
    if op in (fl.IS_SET, fl.IS_UNSET):
        return None
    if family == "multi_enum" or op == fl.IN:
        pool = COLORS if family == "multi_enum" else WEATHER if family == "enum" else ["a", "A", "ab", "b%"]
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    base = {
        "enum": st.sampled_from(WEATHER),
        "float": numbers,
        "integer": st.integers(-3, 3),
        "datetime": st.one_of(stamps, days),
        "string": text.filter(bool),
        "link": st.one_of(text.filter(bool), st.just("https://x/a")),
        "boolean": st.booleans(),
    }[family]
    if op == fl.BETWEEN:
        low, high = sorted([draw(base), draw(base)])
        return [low, high]
    return draw(base)


@st.composite
def conditions(draw):
    name = draw(st.sampled_from(sorted(SCHEMA.fields) + ["title", "group-id", "meta.kind"]))
    if name in ("group-id", "meta.kind"):
        op = draw(st.sampled_from(fl.OPERATORS[fl.UNDECLARED]))
        return fl.make_condition(name, op, _undeclared_value_for(op, draw), schema=SCHEMA)
    if name == "title":
        op = draw(st.sampled_from(fl.OPERATORS["title"]))
        value = draw(st.sampled_from(["img", "IMG_1", "1", "_", "%"]))
        return fl.make_condition(name, op, value, schema=SCHEMA)
    op = draw(st.sampled_from(fl.operators_for(SCHEMA.get(name))))
    return fl.make_condition(name, op, _value_for(name, op, draw), schema=SCHEMA)


@st.composite
def queries(draw):
    sort_field = draw(st.sampled_from([None, "title", "weather", "temperature", "count", "captured_at", "camera", "dark"]))
    return fl.Query(
        all=tuple(draw(st.lists(conditions(), min_size=1, max_size=3))),
        any=tuple(draw(st.lists(conditions(), max_size=2))),
        sort=fl.Sort(sort_field, draw(st.booleans())) if sort_field else fl.Sort(),
    )


@pytest.fixture
def folder(workspace):
    return make_folder(workspace)


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.lists(metadata(), min_size=4, max_size=16), query=queries(), page_size=st.integers(1, 5))
def test_the_database_returns_what_the_reference_returns(workspace, folder, data, query, page_size):
    Item.objects.filter(workspace=workspace).delete()
    titles = ["img_1", "IMG_10", "img_2", "x_%", "ab"]
    created = Item.objects.bulk_create(
        [
            Item(workspace=workspace, folder=folder, title=titles[n % len(titles)], client_metadata=md)
            for n, md in enumerate(data)
        ]
    )
    if not created or created[0].pk is None:
        created = list(Item.objects.filter(workspace=workspace).order_by("id"))
    expected = evaluate(
        [RefItem(id=i.pk, title=i.title, metadata=i.client_metadata) for i in created], query, schema=SCHEMA
    )

    assert_database_returns(expected, query, schema=SCHEMA, workspace=workspace, page_size=page_size)


@pytest.mark.django_db
def test_it_parses_back_what_it_prints(workspace):
    query = fl.Query(
        all=(
            fl.make_condition("weather", "in", ["Sunny", "Rain"], schema=SCHEMA),
            fl.make_condition("temperature", "between", [1.5, 3], schema=SCHEMA),
            fl.make_condition("camera", "is_set", None, schema=SCHEMA),
            fl.make_condition("group-id", "eq", "A", schema=SCHEMA),
            fl.make_condition("meta.kind", "in", ["1", "true"], schema=SCHEMA),
            fl.make_condition("group-id", "between", [1, 2.5], schema=SCHEMA),
        ),
        any=(fl.make_condition("dark", "eq", True, schema=SCHEMA),),
        sort=fl.Sort("captured_at", True),
    )
    from django.http import QueryDict

    qd = QueryDict(mutable=True)
    for key, value in query.to_params():
        qd.appendlist(key, value)
    assert fl.parse_query_string(qd, schema=SCHEMA) == query
    assert fl.parse_json(query.to_json(), schema=SCHEMA) == query


@pytest.mark.parametrize("day", ["2024-06-30", "2024-12-31", "2024-02-29"])
def test_a_day_filter_means_the_same_as_its_first_and_last_instants(day):
    """For stored (canonical) values the reference's whole day is [day 00:00:00, day 23:59:59.999...]."""
    spec = SCHEMA.get("captured_at")
    stored = [validate_value(spec, v) for v in (
        f"{day}", f"{day}T00:00:00Z", f"{day}T12:00:00.5Z", f"{day}T23:59:59Z", f"{day}T23:59:59.999Z",
        "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", f"{day}T23:00:00-02:00", f"{day}T01:00:00+02:00")]
    items = [RefItem(id=n, title="t", metadata={"captured_at": v}) for n, v in enumerate(stored)]

    def ids(op, value):
        return evaluate(items, fl.Query(all=(fl.make_condition("captured_at", op, value, schema=SCHEMA),)),
                        schema=SCHEMA)

    in_day = sorted(n for n, v in enumerate(stored) if v.startswith(day))
    assert sorted(ids("eq", day)) == in_day == [0, 1, 2, 3, 4]
    assert sorted(ids("ne", day)) == sorted(set(range(len(stored))) - set(in_day))
    assert set(ids("lte", day)) == set(ids("lt", day)) | set(in_day)
    assert set(ids("gte", day)) == set(ids("gt", day)) | set(in_day)
    assert not set(ids("gt", day)) & set(in_day) and not set(ids("lt", day)) & set(in_day)
    assert sorted(ids("between", [day, day])) == in_day
    # A date-only value is written as its midnight, so it filters and sorts exactly like the full timestamp.
    assert stored[0] == stored[1] == f"{day}T00:00:00Z"

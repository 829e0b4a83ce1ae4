"""Property-based: for generated metadata and filters, the database returns exactly what the
reference evaluator returns, in the same order, through keyset paging, and on PostgreSQL the typed
projection counts the same. Runs on whichever database the suite runs on (SQLite by default, PostgreSQL
with DATABASE_URL)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.explorer import filters as fl
from metadata_site.explorer.reference import RefItem, evaluate
from metadata_site.items.models import Item
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
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
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([-1.5, 0.5, 2.25]))
junk = st.one_of(st.none(), st.just("x"), st.just(1), st.just(True), st.just([]), st.just({"a": 1}))

VALUES = {
    "weather": st.sampled_from(WEATHER),
    "colors": st.lists(st.sampled_from(COLORS), max_size=3, unique=True),
    "temperature": numbers,
    "count": st.integers(-3, 3),
    "captured_at": stamps,
    "camera": text,
    "source": text.map(lambda t: "https://x/" + t),
    "dark": st.booleans(),
}


@st.composite
def metadata(draw):
    md = {}
    for name, values in VALUES.items():
        choice = draw(st.integers(0, 9))
        if choice < 7:
            md[name] = draw(values)
        elif choice < 9:
            md[name] = draw(junk)  # wrong type or null: unset for the filters
    return md


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
        "datetime": stamps,
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
    name = draw(st.sampled_from(sorted(SCHEMA.fields) + ["title"]))
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

"""The built-in media fields ($width, $height, $duration, $fps, $frame_count, $file_size, $content_type,
$media_status): filterable and sortable on both databases exactly as the reference evaluator says, never clashing
with declared metadata (a declared field may be called "width"), and in the API's filters and sort."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.accounts.services import api_token_create
from metadata_site.explorer import query as fl
from metadata_site.explorer.query.reference import RefItem, evaluate
from metadata_site.items.models import Item
from metadata_site.schemas.declarations import FieldDeclarationError, clean_field_name
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from tests.api.conftest import ApiClient
from tests.explorer.helpers import assert_database_returns
from tests.factories import make_folder, make_item, make_schema

# A declared field named like a media property: it stays the user's own.
SCHEMA = Schema(version=1, fields={"width": FieldSpec("width", FieldType.FLOAT)})
TYPES = ("", "image/jpeg", "image/png", "video/mp4")
MEDIA = {
    "$width": st.one_of(st.none(), st.integers(0, 4)),
    "$height": st.one_of(st.none(), st.integers(0, 4)),
    "$duration": st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.25])),
    "$fps": st.one_of(st.none(), st.sampled_from([24.0, 25.0, 29.97])),
    "$frame_count": st.one_of(st.none(), st.integers(0, 3)),
    "$file_size": st.one_of(st.none(), st.integers(0, 3)),
    "$content_type": st.sampled_from(TYPES),
    "$media_status": st.sampled_from(["none", "pending", "ready", "error"]),
}
VALUES = {
    "integer": st.integers(-1, 4),
    "float": st.sampled_from([0.5, 1.0, 2.25, 24.0, 25.0, 30.0]),
    "media_text": st.sampled_from(["image/jpeg", "video/mp4", "image/", "ready", "none", "x"]),
}


@st.composite
def conditions(draw):
    name = draw(st.sampled_from([*fl.MEDIA_FIELDS, "width"]))
    family = "float" if name == "width" else fl.MEDIA_FIELDS[name][1]
    op = draw(st.sampled_from(fl.OPERATORS[family]))
    if op in (fl.IS_SET, fl.IS_UNSET):
        value = None
    elif op == fl.IN:
        value = draw(st.lists(VALUES[family], min_size=1, max_size=3, unique=True))
    elif op == fl.BETWEEN:
        value = sorted([draw(VALUES[family]), draw(VALUES[family])])
    else:
        value = draw(VALUES[family])
    return fl.make_condition(name, op, value, schema=SCHEMA)


@st.composite
def queries(draw):
    sort_field = draw(st.sampled_from([None, "width", *fl.MEDIA_FIELDS]))
    return fl.Query(
        all=tuple(draw(st.lists(conditions(), min_size=1, max_size=3))),
        any=tuple(draw(st.lists(conditions(), max_size=2))),
        sort=fl.Sort(sort_field, draw(st.booleans())) if sort_field else fl.Sort(),
    )


@st.composite
def items(draw):
    media = {name: draw(values) for name, values in MEDIA.items()}
    width = draw(st.one_of(st.none(), st.sampled_from([0.5, 25.0])))
    return media, ({} if width is None else {"width": width})


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.lists(items(), min_size=3, max_size=12), query=queries(), page_size=st.integers(1, 4))
def test_media_fields_filter_and_sort_as_the_reference_says(workspace, data, query, page_size):
    Item.objects.filter(workspace=workspace).delete()
    folder = make_folder(workspace)
    created = [
        make_item(folder, f"i{n}", metadata=md, **{fl.MEDIA_FIELDS[k][0]: v for k, v in media.items()})
        for n, (media, md) in enumerate(data)
    ]
    expected = evaluate(
        [RefItem(id=i.pk, title=i.title, metadata=i.client_metadata, media=media)
         for i, (media, _) in zip(created, data, strict=True)],
        query, schema=SCHEMA,
    )
    assert_database_returns(expected, query, schema=SCHEMA, workspace=workspace, page_size=page_size)


def test_no_declared_field_can_take_a_media_fields_name():
    for name in fl.MEDIA_FIELDS:
        with pytest.raises(FieldDeclarationError):
            clean_field_name(name)


def test_media_fields_parse_back_from_the_query_string():
    from django.http import QueryDict

    qd = QueryDict("f=$width:gte:1920&f=$content_type:startswith:video/&f=width:lt:3&sort=-$duration")
    query = fl.parse_query_string(qd, schema=SCHEMA)
    assert [(c.field, c.op, c.value, c.builtin) for c in query.all] == [
        ("$width", "gte", 1920, True), ("$content_type", "startswith", "video/", True), ("width", "lt", 3.0, False)]
    assert query.sort == fl.Sort("$duration", True)
    assert fl.parse_query_string(QueryDict("&".join(f"{k}={v}" for k, v in query.to_params())), schema=SCHEMA) == query


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("$width:gt:wide", "'$width' expects an integer, got 'wide'"),
        ("$width:contains:1", "operator 'contains' is not allowed for '$width'"),
        ("$colour:eq:1", "unknown field '$colour'"),
    ],
)
def test_bad_media_conditions_are_clear_errors(raw, message):
    with pytest.raises(fl.FilterError) as exc:
        fl.parse_condition(raw, schema=SCHEMA)
    assert message in exc.value.message


@pytest.mark.django_db
def test_the_api_filters_and_sorts_by_media_fields(workspace, owner):
    make_schema(workspace, [{"name": "width", "type": "float"}])
    folder = make_folder(workspace)
    make_item(folder, "small.jpg", width=640, height=480, content_type="image/jpeg", metadata={"width": 9000.0})
    make_item(folder, "big.jpg", width=1920, height=1080, content_type="image/jpeg")
    make_item(folder, "clip.mp4", width=1280, height=720, content_type="video/mp4", duration=2.0, kind="video")
    make_item(folder, "unread.jpg")
    api = ApiClient(api_token_create(user=owner, name="t")[1])
    resp = api.get("/api/w/acme/items", {"f": ["$width:gte:1000", "$content_type:startswith:image/"]})
    assert [r["title"] for r in resp.json()["results"]] == ["big.jpg"]
    resp = api.get("/api/w/acme/items", {"sort": "-$width"})
    assert [r["title"] for r in resp.json()["results"]] == ["big.jpg", "clip.mp4", "small.jpg", "unread.jpg"]
    resp = api.get("/api/w/acme/items", {"f": "width:gt:100"})  # the declared field, not the media one
    assert [r["title"] for r in resp.json()["results"]] == ["small.jpg"]
    resp = api.get("/api/w/acme/items", {"f": "$width:gt:x"})
    assert resp.status_code == 400 and "'$width' expects an integer" in resp.json()["detail"]


@pytest.mark.django_db
def test_the_explorer_page_sorts_by_a_media_field_and_offers_it(workspace, login, owner):
    from django.urls import reverse

    folder = make_folder(workspace)
    make_item(folder, "narrow.jpg", width=100)
    make_item(folder, "wide.jpg", width=3000)
    response = login(owner).get(reverse("explorer:explore", args=["acme"]), {"sort": "-$width", "view": "table"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("wide.jpg") < page.index("narrow.jpg")
    assert 'value="-$width"' in page and "width (media) ↓" in page

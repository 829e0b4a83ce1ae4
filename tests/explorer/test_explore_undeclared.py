"""Keys found in the data that no field declares: listed per scope, filtered from the URL, the sidebar and the API."""

import pytest
from django.urls import reverse

from metadata_site.explorer import query as fl
from metadata_site.explorer import selectors
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema


@pytest.fixture
def items(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(workspace, "root")
    other = make_folder(workspace, "other")
    return {
        "a1": make_item(folder, "a1.jpg", metadata={"weather": "Sunny", "group-id": "A", "size": 3}),
        "a2": make_item(folder, "a2.jpg", metadata={"group-id": "A", "size": 12.5, "reviewed": True}),
        "b": make_item(folder, "b.jpg", metadata={"group-id": "B", "size": "big", "tags": ["x"]}),
        "n": make_item(folder, "n.jpg", metadata={"group-id": None}),
        "other": make_item(other, "o.jpg", metadata={"elsewhere": 1}),
        "folder": folder,
    }


def url(workspace, name="explorer:explore"):
    return reverse(name, args=[workspace.slug])


def test_it_filters_an_undeclared_key_from_the_url(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"f": "group-id:eq:A"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "a1.jpg" in body and "a2.jpg" in body
    assert "b.jpg" not in body and "n.jpg" not in body


def test_numeric_comparisons_match_numbers_only_and_is_set_skips_null(workspace, items):
    schema = schema_current(workspace=workspace)

    def titles(*params):
        query = fl.parse_query_string({"f": list(params)}, schema=schema)
        return sorted(fl.items_matching(query, schema=schema, workspace=workspace).values_list("title", flat=True))

    assert titles("size:gt:5") == ["a2.jpg"]
    assert titles("size:eq:3") == ["a1.jpg"]
    assert titles("size:contains:BI") == ["b.jpg"]
    assert titles("group-id:is_set") == ["a1.jpg", "a2.jpg", "b.jpg"]
    assert titles("group-id:is_unset") == ["n.jpg", "o.jpg"]
    assert titles("reviewed:eq:true") == ["a2.jpg"]
    assert titles("group-id:ne:A") == ["b.jpg"]


def test_the_count_partial_counts_an_undeclared_filter(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:count"), {"f": "group-id:in:A,B"})
    assert 'data-total="3"' in response.content.decode()


def test_it_lists_the_undeclared_keys_of_the_scope_with_types_and_counts(workspace, items):
    schema = schema_current(workspace=workspace)
    found = selectors.undeclared_keys(fl.Scope("folder", items["folder"].pk), schema=schema, workspace=workspace)
    by_name = {k.name: k for k in found.keys}
    assert set(by_name) == {"group-id", "size", "reviewed", "tags"}  # not weather (declared), not elsewhere
    assert by_name["group-id"].count == 3 and by_name["group-id"].types == {"string": 3}
    assert by_name["size"].types == {"number": 2, "string": 1}
    assert fl.GT in by_name["size"].ops and fl.GT not in by_name["group-id"].ops
    assert found.exact and found.sampled == 4


def test_the_key_discovery_reads_a_bounded_sample_and_says_so(workspace, items):
    schema = schema_current(workspace=workspace)
    found = selectors.undeclared_keys(fl.Scope(), schema=schema, workspace=workspace, sample=2)
    assert found.sampled == 2 and not found.exact
    assert {k.name: k.count for k in found.keys}["group-id"] == 2


def test_the_sidebar_partial_lists_keys_with_widgets_and_says_declaring_is_faster(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:undeclared"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'name="uop.group-id"' in body and 'data-key="size"' in body
    assert "declaring the field</a> makes it fast" in body
    assert "infer a schema" in body


def test_the_sidebar_widgets_become_an_undeclared_condition(login, workspace, items, owner):
    response = login(owner).get(url(workspace), {"apply": "1", "u": ["group-id", "size"], "uop.group-id": "eq",
                                                 "uv.group-id": "B", "uop.size": "eq", "uv.size": ""})
    assert response.status_code == 302
    assert response["Location"] == url(workspace) + "?f=group-id%3Aeq%3AB"


def test_a_bad_scope_of_the_key_list_is_a_400(login, workspace, items, owner):
    response = login(owner).get(url(workspace, "explorer:undeclared"), {"scope": "folder:999999"})
    assert response.status_code == 400
    assert "scope: no folder 999999 in this workspace" in response.content.decode()


def test_owner_and_member_see_the_key_list_and_a_stranger_gets_404(login, workspace, items, owner, member, stranger):
    assert login(owner).get(url(workspace, "explorer:undeclared")).status_code == 200
    assert login(member).get(url(workspace, "explorer:undeclared")).status_code == 200
    assert login(stranger).get(url(workspace, "explorer:undeclared")).status_code == 404

"""The explorer's parameter forms: `clean()` returns the query and its items, or one error naming the parameter."""

import pytest
from django.http import QueryDict

from metadata_site.explorer import forms
from metadata_site.explorer import query as fl
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(workspace):
    make_schema(workspace, [{"name": "temperature", "type": "float"}])
    folder = make_folder(workspace)
    make_item(folder, "hot.jpg", metadata={"temperature": 35})
    make_item(folder, "cold.jpg", metadata={"temperature": 5})
    return schema_current(workspace=workspace)


def test_a_valid_query_string_cleans_to_the_query_and_its_items(workspace, schema):
    form = forms.QueryForm(QueryDict("f=temperature:gt:30&sort=-temperature"), schema=schema, workspace=workspace)
    assert form.is_valid()
    query = form.cleaned_data["query"]
    assert query == fl.Query(all=(fl.Condition("temperature", fl.GT, 30.0),), sort=fl.Sort("temperature", True))
    assert [i.title for i in form.cleaned_data["items"]] == ["hot.jpg"]


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ("scope=folder:999999", "scope", "scope: no folder 999999 in this workspace"),
        ("scope=shelf:1", "scope", "scope: expected folder:<id>"),
        ("f=temperature:gt:hot", "f=temperature:gt:hot", "expects a number"),
        ("sort=nope", "sort", "sort: cannot sort by 'nope'"),
    ],
)
def test_a_bad_parameter_is_the_forms_one_error_naming_it(workspace, schema, params, param, message):
    form = forms.QueryForm(QueryDict(params), schema=schema, workspace=workspace)
    assert not form.is_valid()
    assert form.filter_error.param == param
    assert message in str(form.filter_error)
    assert form.non_field_errors() == [str(form.filter_error)]


def test_a_cursor_of_another_sort_is_an_error_only_where_pages_are_read(workspace, schema):
    cursor = fl.encode_cursor("a text", 1)  # a float sort's cursor holds a number
    data = QueryDict(f"sort=temperature&after={cursor}")
    assert forms.QueryForm(data, schema=schema, workspace=workspace).is_valid()
    paged = forms.QueryForm(data, schema=schema, workspace=workspace, paging=True)
    assert not paged.is_valid()
    assert paged.filter_error.param == "after"


def test_the_explore_form_keeps_the_good_conditions_and_reports_the_bad_one(workspace, schema):
    form = forms.ExploreForm(QueryDict("f=temperature:gt:30&f=temperature:lt:cold"), schema=schema, workspace=workspace)
    assert form.is_valid()
    assert form.cleaned_data["query"].all == (fl.Condition("temperature", fl.GT, 30.0),)
    [problem] = form.cleaned_data["problems"]
    assert problem.raw == "temperature:lt:cold"

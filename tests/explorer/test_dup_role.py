"""`$dup_role` (an item's role in its near-duplicate group: representative / copy, unset without near-duplicates):
the database (SQLite, PostgreSQL and its typed projection) returns what the reference evaluator returns for
generated groups and conditions; the explorer's "Near-duplicates" choice filters by it; a bad value is a clear
error (the API: tests/api/test_items_dup_role.py)."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_site.explorer import query as fl
from metadata_site.explorer.query.reference import RefItem, evaluate
from metadata_site.items.models import Item
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from tests.explorer.helpers import assert_database_returns
from tests.factories import make_folder, make_item

SCHEMA = Schema(version=1, fields={"weather": FieldSpec("weather", FieldType.ENUM, options=("Sunny", "Rain"))})


@st.composite
def dup_conditions(draw):
    name = draw(st.sampled_from([fl.DUP_ROLE, fl.DUP_ROLE, "$dup_group", "weather"]))
    if name == "weather":
        return fl.make_condition("weather", fl.EQ, draw(st.sampled_from(["Sunny", "Rain"])), schema=SCHEMA)
    if name == "$dup_group":
        return fl.make_condition(name, draw(st.sampled_from([fl.IS_SET, fl.IS_UNSET])), None, schema=SCHEMA)
    op = draw(st.sampled_from(fl.OPERATORS["dup_role"]))
    if op in (fl.IS_SET, fl.IS_UNSET):
        value = None
    elif op == fl.IN:
        value = draw(st.lists(st.sampled_from(fl.DUP_ROLES), min_size=1, max_size=2, unique=True))
    else:
        value = draw(st.sampled_from(fl.DUP_ROLES))
    return fl.make_condition(name, op, value, schema=SCHEMA)


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(groups=st.lists(st.integers(-1, 5), min_size=3, max_size=12),
       all_of=st.lists(dup_conditions(), min_size=1, max_size=2), any_of=st.lists(dup_conditions(), max_size=2),
       page_size=st.integers(1, 4))
def test_the_database_returns_what_the_reference_returns(workspace, groups, all_of, any_of, page_size):
    """groups[n]: -1 no group; g ≥ 0 the group of the item at position min(g, n) (itself when g ≥ n)."""
    Item.objects.filter(workspace=workspace).delete()
    folder = make_folder(workspace)
    items = [make_item(folder, f"i{n}", metadata={"weather": "Sunny" if n % 2 else "Rain"}) for n in range(len(groups))]
    for n, g in enumerate(groups):
        if g >= 0:
            Item.objects.filter(pk=items[n].pk).update(dup_group=items[min(g, n)].pk)
    stored = dict(Item.objects.filter(workspace=workspace).values_list("pk", "dup_group"))
    query = fl.Query(all=tuple(all_of), any=tuple(any_of))
    expected = evaluate([RefItem(id=i.pk, title=i.title, metadata=i.client_metadata,
                                 media={"$dup_group": stored[i.pk]}) for i in items], query, schema=SCHEMA)
    assert_database_returns(expected, query, schema=SCHEMA, workspace=workspace, page_size=page_size)


@pytest.fixture
def grouped(workspace):
    """a (representative) with copies b and c; d alone."""
    folder = make_folder(workspace)
    a, b, c, d = (make_item(folder, t) for t in "abcd")
    Item.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(dup_group=a.pk)
    return a, b, c, d


def _titles(resp) -> set[str]:
    assert resp.status_code == 200, resp.content.decode()[:500]
    return {row["item"].title for row in resp.context["rows"]}


@pytest.mark.django_db
@pytest.mark.parametrize("choice, titles", [("representative", {"a"}), ("copy", {"b", "c"}), ("any", {"a", "b", "c"}),
                                            ("none", {"d"}), ("", {"a", "b", "c", "d"})])
def test_the_explorer_sidebar_filters_by_near_duplicate_role(login, owner, workspace, grouped, choice, titles):
    client = login(owner)
    resp = client.get(reverse("explorer:explore", args=["acme"]), {"apply": "1", "dup": choice})
    assert resp.status_code == 302  # the widgets become the canonical URL
    resp = client.get(resp["Location"])
    assert _titles(resp) == titles
    html = resp.content.decode()
    assert f'<option value="{choice}" selected>' in html


@pytest.mark.django_db
def test_the_url_filter_is_kept_by_the_sidebar_choice(login, owner, workspace, grouped):
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"f": "$dup_role:eq:representative"})
    assert _titles(resp) == {"a"}
    assert '<option value="representative" selected>' in resp.content.decode()


@pytest.mark.django_db
def test_a_bad_role_is_a_clear_error(login, owner, workspace, grouped):
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"f": "$dup_role:eq:original"})
    html = resp.content.decode()
    assert "original" in html and "representative, copy" in html

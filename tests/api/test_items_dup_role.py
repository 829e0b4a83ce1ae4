"""The items API filters by `$dup_role` (representative / copy in a near-duplicate group), for members only; a bad
role or operator is a 400 naming the allowed values."""

import pytest

from metadata_site.items.models import Item
from tests.factories import make_folder, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def grouped(workspace):
    """a (representative) with copies b and c; d alone."""
    folder = make_folder(workspace)
    a, b, c, d = (make_item(folder, t) for t in "abcd")
    Item.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(dup_group=a.pk)
    return a, b, c, d


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_the_api_filters_by_role_for_members_only(who, status, request, api_as, workspace, grouped):
    client = api_as(request.getfixturevalue(who))
    resp = client.get("/api/w/acme/items?f=$dup_role:in:copy")
    assert resp.status_code == status
    if status == 200:
        assert sorted(r["title"] for r in resp.json()["results"]) == ["b", "c"]
        representative = client.get("/api/w/acme/items?f=$dup_role:eq:representative").json()["results"]
        assert [r["title"] for r in representative] == ["a"]


def test_a_bad_role_or_operator_is_a_clear_400(api_as, owner, workspace, grouped):
    resp = api_as(owner).get("/api/w/acme/items?f=$dup_role:eq:original")
    assert resp.status_code == 400 and "representative, copy" in resp.content.decode()
    resp = api_as(owner).get("/api/w/acme/items?f=$dup_role:gt:copy")
    assert resp.status_code == 400 and "$dup_role" in resp.content.decode()

"""`__in_array`: membership in a list sent as one parameter, on both databases."""

import uuid

import pytest
from django.db import connection

from metadata_site.items.models import Item
from metadata_site.lib.lookups import array_literal

from ..factories import make_folder, make_item, make_workspace

pytestmark = pytest.mark.django_db

AWKWARD = ['a "quoted" title', "back\\slash", "comma, and {braces}", "NULL", " spaced ", "ünïcode"]


def test_it_finds_items_by_pk_uid_and_title_among_many_values():
    folder = make_folder(make_workspace())
    items = [make_item(folder, title) for title in AWKWARD]
    other = make_item(folder, "not asked for")
    pks = [i.pk for i in items] + list(range(10**9, 10**9 + 20_000))
    assert set(Item.objects.filter(pk__in_array=pks)) == set(items)
    uids = [i.uid for i in items] + [uuid.uuid4() for _ in range(1000)]
    assert set(Item.objects.filter(uid__in_array=uids)) == set(items)
    assert sorted(Item.objects.filter(title__in_array=AWKWARD).values_list("title", flat=True)) == sorted(AWKWARD)
    assert other not in Item.objects.filter(title__in_array=AWKWARD)


def test_an_empty_list_matches_nothing():
    make_item(make_folder(make_workspace()))
    assert not Item.objects.filter(pk__in_array=[]).exists()


def test_the_array_literal_reads_back_as_the_same_values_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL array literal")
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[], %s::bigint[]", (array_literal(AWKWARD), array_literal([1, 2, 3])))
        assert cursor.fetchone() == (AWKWARD, [1, 2, 3])

import pytest
from django.core.exceptions import ValidationError

from metadata_site.collections import services
from metadata_site.collections.models import Collection, CollectionItem
from metadata_site.collections.selectors import collection_items
from metadata_site.items.models import Item
from tests.factories import make_collection, make_folder, make_item

from .helpers import folder_filter

pytestmark = pytest.mark.django_db


def test_rename_and_describe(workspace):
    c = make_collection(workspace, "Old")
    services.collection_update(collection=c, title="New", description=" about ")
    c.refresh_from_db()
    assert (c.title, c.description) == ("New", "about")


def test_rename_to_a_taken_title_is_refused(workspace):
    make_collection(workspace, "Taken")
    c = make_collection(workspace, "Mine")
    with pytest.raises(ValidationError) as exc:
        services.collection_rename(collection=c, title="taken")
    assert "already exists" in str(exc.value)
    c.refresh_from_db()
    assert c.title == "Mine"


def test_rename_to_its_own_title_is_fine(workspace):
    c = make_collection(workspace, "Mine")
    services.collection_update(collection=c, title="Mine", description="x")


def test_delete_leaves_the_items(workspace):
    item = make_item(make_folder(workspace))
    c = make_collection(workspace, "C", items=[item])
    services.collection_delete(collection=c)
    assert not Collection.objects.exists()
    assert not CollectionItem.objects.exists()
    assert Item.objects.filter(pk=item.pk).exists()


def test_freeze_turns_a_live_collection_into_a_snapshot(workspace):
    folder = make_folder(workspace)
    a = make_item(folder)
    c = make_collection(workspace, "L", kind="live", filter=folder_filter(folder))
    services.collection_freeze(collection=c)
    later = make_item(folder)
    c.refresh_from_db()
    assert c.kind == "frozen"
    assert c.filter == folder_filter(folder)
    assert list(collection_items(c)) == [a]
    assert later not in collection_items(c)


def test_freezing_a_frozen_collection_is_refused(workspace):
    c = make_collection(workspace, "F")
    with pytest.raises(ValidationError):
        services.collection_freeze(collection=c)


def test_a_live_collection_scoped_to_itself_does_not_recurse(workspace):
    c = make_collection(workspace, "Loop", kind="live")
    c.filter = {"scope": f"collection:{c.pk}"}
    c.save()
    make_item(make_folder(workspace))
    # Raises RecursionError if membership evaluation re-enters itself without end; a cycle adds no item.
    assert list(collection_items(c)) == []

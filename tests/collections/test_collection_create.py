import pytest
from django.core.exceptions import ValidationError

from metadata_site.collections import services
from metadata_site.collections.models import Collection, CollectionKind
from metadata_site.collections.selectors import collection_items
from tests.factories import make_folder, make_item, make_workspace

from .helpers import folder_filter

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "cams")


def test_it_creates_a_frozen_collection_from_ticked_items(workspace, owner, folder):
    a, b, _ = (make_item(folder) for _ in range(3))
    c = services.collection_create(
        workspace=workspace, user=owner, title="Night", description="dark ones", kind="frozen", item_ids=[a.pk, b.pk]
    )
    assert c.created_by == owner
    assert set(collection_items(c)) == {a, b}


def test_a_frozen_collection_from_a_filter_stores_a_snapshot_and_the_filter(workspace, owner, folder):
    a = make_item(folder)
    c = services.collection_create(
        workspace=workspace, user=owner, title="Snap", kind="frozen", filter_state=folder_filter(folder)
    )
    later = make_item(folder)
    assert c.filter == folder_filter(folder)
    assert list(collection_items(c)) == [a]
    assert later not in collection_items(c)


def test_a_live_collection_stores_no_items_and_follows_its_filter(workspace, owner, folder):
    a = make_item(folder)
    c = services.collection_create(
        workspace=workspace, user=owner, title="Live", kind="live", filter_state=folder_filter(folder)
    )
    later = make_item(folder)
    assert c.memberships.count() == 0
    assert set(collection_items(c)) == {a, later}


def test_a_live_collection_needs_a_filter(workspace, owner):
    with pytest.raises(ValidationError) as exc:
        services.collection_create(workspace=workspace, user=owner, title="Live", kind="live")
    assert services.COLLECTION_LIVE_NEEDS_FILTER in str(exc.value)
    assert not Collection.objects.exists()


def test_titles_are_unique_per_workspace_with_a_clear_message(workspace, owner, stranger):
    services.collection_create(workspace=workspace, user=owner, title="Night", kind="frozen", item_ids=[])
    with pytest.raises(ValidationError) as exc:
        services.collection_create(workspace=workspace, user=owner, title=" night ", kind="frozen", item_ids=[])
    assert services.COLLECTION_TITLE_TAKEN.format(title="night") in str(exc.value)
    other = make_workspace("other")
    services.collection_create(workspace=other, user=stranger, title="Night", kind="frozen", item_ids=[])
    assert Collection.objects.filter(title="Night").count() == 2


def test_an_empty_title_is_refused(workspace, owner):
    with pytest.raises(ValidationError) as exc:
        services.collection_create(workspace=workspace, user=owner, title="  ", kind="frozen")
    assert services.COLLECTION_TITLE_REQUIRED in str(exc.value)


def test_an_unknown_kind_is_refused(workspace, owner):
    with pytest.raises(ValidationError):
        services.collection_create(workspace=workspace, user=owner, title="x", kind="melted")


def test_ids_of_another_workspace_are_refused_and_nothing_is_created(workspace, owner):
    mine = make_item(make_folder(workspace))
    theirs = make_item(make_folder(make_workspace("other")))
    with pytest.raises(ValidationError) as exc:
        services.collection_create(
            workspace=workspace, user=owner, title="Mixed", kind="frozen", item_ids=[mine.pk, theirs.pk]
        )
    assert "not items of this workspace" in str(exc.value)
    assert not Collection.objects.filter(title="Mixed").exists()


def test_the_kind_is_stored(workspace, owner, folder):
    c = services.collection_create(
        workspace=workspace, user=owner, title="L", kind=CollectionKind.LIVE, filter_state=folder_filter(folder)
    )
    assert Collection.objects.get(pk=c.pk).kind == "live"


def test_a_title_taken_concurrently_is_the_same_clear_message(workspace, owner, monkeypatch):
    services.collection_create(workspace=workspace, user=owner, title="Night", kind="frozen", item_ids=[])
    # As if another request inserted "Night" between our check and our insert.
    monkeypatch.setattr(services, "_clean_title", lambda title, **kw: title)
    with pytest.raises(ValidationError) as exc:
        services.collection_create(workspace=workspace, user=owner, title="Night", kind="frozen", item_ids=[])
    assert services.COLLECTION_TITLE_TAKEN.format(title="Night") in str(exc.value)

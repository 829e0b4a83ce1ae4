import pytest
from django.core.exceptions import ValidationError

from metadata_site.collections import services
from metadata_site.collections.models import CollectionItem, CollectionTask
from metadata_site.collections.selectors import collection_items
from tests.factories import make_collection, make_folder, make_item, make_workspace

from .helpers import folder_filter

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "cams")


def test_it_adds_ticked_items_once(workspace, folder):
    a, b = make_item(folder), make_item(folder)
    c = make_collection(workspace, "C", items=[a])
    result = services.collection_add_items(collection=c, item_ids=[a.pk, b.pk, b.pk])
    assert result.added == 1
    assert result.task is None
    assert CollectionItem.objects.filter(collection=c).count() == 2


def test_it_adds_all_items_matching_a_filter(workspace, folder):
    items = [make_item(folder) for _ in range(5)]
    make_item(make_folder(workspace, "other"))
    c = make_collection(workspace, "C")
    result = services.collection_add_items(collection=c, filter_state=folder_filter(folder))
    assert result.added == 5
    assert set(collection_items(c)) == set(items)


def test_it_refuses_ids_of_another_workspace_and_changes_nothing(workspace, folder):
    mine = make_item(folder)
    theirs = make_item(make_folder(make_workspace("other")))
    c = make_collection(workspace, "C")
    with pytest.raises(ValidationError) as exc:
        services.collection_add_items(collection=c, item_ids=[mine.pk, theirs.pk])
    assert str(theirs.pk) in str(exc.value)
    assert CollectionItem.objects.filter(collection=c).count() == 0


def test_a_filter_never_reaches_into_another_workspace(workspace, folder):
    other_folder = make_folder(make_workspace("other"))
    make_item(other_folder)
    c = make_collection(workspace, "C")
    with pytest.raises(ValidationError) as exc:
        services.collection_add_items(collection=c, filter_state=folder_filter(other_folder))
    assert f"no folder {other_folder.pk} in this workspace" in str(exc.value)
    assert c.memberships.count() == 0


def test_a_live_collection_refuses_stored_items(workspace, folder):
    c = make_collection(workspace, "L", kind="live", filter=folder_filter(folder))
    with pytest.raises(ValidationError) as exc:
        services.collection_add_items(collection=c, item_ids=[make_item(folder).pk])
    assert "live collection" in str(exc.value)


def test_an_empty_selection_is_refused(workspace):
    c = make_collection(workspace, "C")
    with pytest.raises(ValidationError) as exc:
        services.collection_add_items(collection=c)
    assert services.SELECTION_EMPTY in str(exc.value)


def test_a_large_selection_runs_as_a_background_task_with_progress(workspace, folder, owner, monkeypatch):
    monkeypatch.setattr(services, "INLINE_LIMIT", 4)
    monkeypatch.setattr(services, "CHUNK_SIZE", 3)
    items = [make_item(folder) for _ in range(10)]
    c = make_collection(workspace, "Big", items=items[:2])
    result = services.collection_add_items(collection=c, filter_state=folder_filter(folder), user=owner)
    assert result.task is not None
    task = CollectionTask.objects.get(pk=result.task.pk)
    assert task.status == "COMPLETED"
    assert (task.total, task.done, task.added, task.progress) == (10, 10, 8, 100)
    assert set(collection_items(c)) == set(items)


def test_remove_items_keeps_the_items(workspace, folder):
    a, b = make_item(folder), make_item(folder)
    c = make_collection(workspace, "C", items=[a, b])
    assert services.collection_remove_items(collection=c, item_ids=[a.pk]) == 1
    assert list(collection_items(c)) == [b]
    a.refresh_from_db()


def test_remove_items_matching_a_filter(workspace, folder):
    a = make_item(folder)
    b = make_item(make_folder(workspace, "keep"))
    c = make_collection(workspace, "C", items=[a, b])
    assert services.collection_remove_items(collection=c, filter_state=folder_filter(folder)) == 1
    assert list(collection_items(c)) == [b]

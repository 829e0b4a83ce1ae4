import pytest
from django.core.exceptions import ValidationError

from metadata_site.collections import services
from metadata_site.collections.models import CollectionTask
from metadata_site.items.models import Item
from metadata_site.projects.models import Dataset, Project
from tests.factories import (
    make_collection,
    make_dataset,
    make_folder,
    make_image_group,
    make_item,
    make_project,
    make_workspace,
)

from .helpers import folder_filter

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "cams")


def _create(workspace, owner, **kw):
    kw.setdefault("title", "train")
    kw.setdefault("split_image_groups", False)
    if "project" not in kw and "new_project_name" not in kw:
        kw["new_project_name"] = "Road scenes"
    return services.dataset_create_from_collections(workspace=workspace, user=owner, **kw)


def test_items_in_several_collections_are_added_once(workspace, owner, folder):
    a, b, c = make_item(folder), make_item(folder), make_item(folder)
    one = make_collection(workspace, "one", items=[a, b])
    two = make_collection(workspace, "two", items=[b, c])
    ds = _create(workspace, owner, collection_ids=[one.pk, two.pk])
    assert ds.status == "READY"
    assert set(ds.items.all()) == {a, b, c}
    assert ds.memberships.count() == 3


def test_a_new_project_is_created_on_the_spot(workspace, owner, folder):
    one = make_collection(workspace, "one", items=[make_item(folder)])
    ds = _create(workspace, owner, collection_ids=[one.pk], new_project_name="Fresh", description="d")
    assert ds.project.name == "Fresh"
    assert ds.project.workspace == workspace
    assert ds.description == "d"


def test_an_existing_project_is_used(workspace, owner, folder):
    project = make_project(workspace, "Existing")
    one = make_collection(workspace, "one", items=[make_item(folder)])
    ds = _create(workspace, owner, collection_ids=[one.pk], project=project)
    assert ds.project == project
    assert Project.objects.count() == 1


def test_split_image_groups_turns_a_group_into_its_frames(workspace, owner, folder):
    group = make_image_group(folder, frames=3)
    single = make_item(folder)
    one = make_collection(workspace, "one", items=[group, single])
    ds = _create(workspace, owner, collection_ids=[one.pk], split_image_groups=True)
    frames = set(Item.objects.filter(parent=group))
    assert set(ds.items.all()) == frames | {single}
    assert ds.source["split_image_groups"] is True


def test_without_split_a_group_is_one_item(workspace, owner, folder):
    group = make_image_group(folder, frames=3)
    one = make_collection(workspace, "one", items=[group])
    ds = _create(workspace, owner, collection_ids=[one.pk], split_image_groups=False)
    assert list(ds.items.all()) == [group]


def test_a_live_collection_contributes_what_its_filter_matches_now(workspace, owner, folder):
    a, b = make_item(folder), make_item(folder)
    live = make_collection(workspace, "live", kind="live", filter=folder_filter(folder))
    ds = _create(workspace, owner, collection_ids=[live.pk])
    assert set(ds.items.all()) == {a, b}


def test_it_records_its_source_collections_and_filter(workspace, owner, folder):
    a = make_item(folder)
    one = make_collection(workspace, "one", items=[a])
    ds = _create(workspace, owner, collection_ids=[one.pk], filter_state=folder_filter(folder))
    ds.refresh_from_db()
    assert ds.source["collections"] == [{"id": one.pk, "title": "one", "kind": "frozen"}]
    assert ds.source["filter"] == folder_filter(folder)
    assert ds.source["item_count"] == 1


def test_it_can_start_from_ticked_items(workspace, owner, folder):
    a, _ = make_item(folder), make_item(folder)
    ds = _create(workspace, owner, item_ids=[a.pk])
    assert list(ds.items.all()) == [a]


def test_ticked_items_of_another_workspace_are_refused_and_nothing_is_created(workspace, owner, folder):
    theirs = make_item(make_folder(make_workspace("other")))
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, item_ids=[make_item(folder).pk, theirs.pk])
    assert "not items of this workspace" in str(exc.value)
    assert not Dataset.objects.exists()
    assert not Project.objects.exists()


def test_collections_of_another_workspace_are_refused(workspace, owner, stranger):
    other = make_workspace("other")
    theirs = make_collection(other, "theirs", items=[make_item(make_folder(other))])
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, collection_ids=[theirs.pk])
    assert str(theirs.pk) in str(exc.value)
    assert not Dataset.objects.exists()


def test_a_project_of_another_workspace_is_refused(workspace, owner, folder):
    theirs = make_project(make_workspace("other"), "theirs")
    one = make_collection(workspace, "one", items=[make_item(folder)])
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, collection_ids=[one.pk], project=theirs)
    assert services.DATASET_PROJECT_NOT_FOUND in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": " "}, services.DATASET_NAME_REQUIRED),
        ({"new_project_name": ""}, services.DATASET_PROJECT_REQUIRED),
        ({}, services.DATASET_NO_SOURCE),
    ],
)
def test_bad_input_gets_a_clear_message(workspace, owner, kwargs, message):
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, **kwargs)
    assert message in str(exc.value)


def test_dataset_and_project_names_must_be_free(workspace, owner, folder):
    project = make_project(workspace, "Road scenes")
    make_dataset(project, "train")
    one = make_collection(workspace, "one", items=[make_item(folder)])
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, collection_ids=[one.pk], title="Train", project=project)
    assert services.DATASET_NAME_TAKEN.format(name="Train") in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        _create(workspace, owner, collection_ids=[one.pk], title="val", new_project_name="road scenes")
    assert "already exists" in str(exc.value)


def test_a_large_dataset_is_built_in_the_background(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "INLINE_LIMIT", 3)
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    group = make_image_group(folder, frames=4)
    singles = [make_item(folder) for _ in range(3)]
    one = make_collection(workspace, "one", items=[group, *singles])
    ds = _create(workspace, owner, collection_ids=[one.pk], split_image_groups=True)
    ds.refresh_from_db()
    task = CollectionTask.objects.get(dataset=ds)
    assert task.status == "COMPLETED"
    assert (task.total, task.added) == (7, 7)
    assert (ds.status, ds.progress) == ("READY", 100)
    assert ds.memberships.count() == 7


def test_a_background_build_with_ticked_items_keeps_them(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "INLINE_LIMIT", 1)
    items = [make_item(folder) for _ in range(3)]
    ds = _create(workspace, owner, item_ids=[i.pk for i in items])
    assert ds.memberships.count() == 3


def test_dataset_require_ready_refuses_an_importing_dataset(workspace):
    ds = make_dataset(make_project(workspace), "busy", status="IMPORTING", progress=40)
    with pytest.raises(ValidationError) as exc:
        services.dataset_require_ready(ds)
    assert "still being created (40% done)" in str(exc.value)
    services.dataset_require_ready(make_dataset(make_project(workspace), "ready"))


def test_a_frame_selected_directly_and_through_its_group_is_added_once(workspace, owner, folder):
    group = make_image_group(folder, frames=2)
    frame = Item.objects.filter(parent=group).first()
    one = make_collection(workspace, "groups", items=[group])
    ds = _create(workspace, owner, collection_ids=[one.pk], item_ids=[frame.pk], split_image_groups=True)
    assert ds.memberships.count() == 2
    assert set(ds.items.all()) == set(Item.objects.filter(parent=group))


def test_a_live_collection_of_groups_is_split_too(workspace, owner, folder):
    group = make_image_group(folder, frames=2)
    live = make_collection(workspace, "live", kind="live", filter=folder_filter(folder))
    ds = _create(workspace, owner, collection_ids=[live.pk], split_image_groups=True)
    assert set(ds.items.all()) == set(Item.objects.filter(parent=group))

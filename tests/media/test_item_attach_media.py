"""media.services.item_attach_media: a stored file becomes an item (or updates the item of that title in the
folder, never a duplicate), validated metadata included, and the worker is queued when the write commits."""

import pytest

from metadata_site.items.models import ChangeSet, Item, ItemKind, MediaStatus
from metadata_site.media.services import MediaMetadataInvalid, MediaRefused, item_attach_media, media_store
from tests.factories import make_folder, make_item, make_schema

from .helpers import image_bytes, video_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    return make_folder(workspace, "uploads")


def test_a_new_title_creates_an_image_item_that_the_worker_makes_ready(
    workspace, folder, owner, django_capture_on_commit_callbacks
):
    blob = media_store(data=image_bytes(640, 480), filename="cat.jpg")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item = item_attach_media(workspace=workspace, folder=folder, title="cat.jpg", blob=blob,
                                 metadata={"weather": "Sunny"}, user=owner)
    assert item.created is True
    assert len(callbacks) == 1
    item.refresh_from_db()
    assert (item.kind, item.client_metadata, item.blob_id) == (ItemKind.IMAGE, {"weather": "Sunny"}, blob.pk)
    assert (item.media_status, item.width, item.height) == (MediaStatus.READY, 640, 480)
    assert (item.content_type, item.file_size) == ("image/jpeg", blob.size)
    assert item.thumbnail_name.startswith("thumbs/") and item.thumbnail_name.endswith(".jpg")


def test_the_same_title_updates_the_item_instead_of_duplicating_it(workspace, folder, owner):
    first = media_store(data=image_bytes(64, 48), filename="clip")
    item = item_attach_media(workspace=workspace, folder=folder, title="clip", blob=first)
    second = media_store(data=video_bytes(), filename="clip")
    again = item_attach_media(workspace=workspace, folder=folder, title="clip", blob=second,
                              metadata={"weather": "Rain"}, user=owner)
    assert again.pk == item.pk and again.created is False
    assert Item.objects.filter(folder=folder).count() == 1
    again.refresh_from_db()
    assert (again.kind, again.blob_id, again.media_status) == (ItemKind.VIDEO, second.pk, MediaStatus.PENDING)
    assert again.client_metadata == {"weather": "Rain"}
    # The metadata change of an existing item is recorded, so it can be undone like any other.
    assert ChangeSet.objects.filter(workspace=workspace, operation="upload").count() == 1


def test_metadata_that_does_not_fit_the_schema_is_refused_and_nothing_is_written(workspace, folder):
    blob = media_store(data=image_bytes(), filename="a.jpg")
    with pytest.raises(MediaMetadataInvalid) as exc:
        item_attach_media(workspace=workspace, folder=folder, title="a.jpg", blob=blob, metadata={"weather": "Hail"})
    assert exc.value.errors[0]["key"] == "weather"
    assert not Item.objects.filter(folder=folder).exists()


def test_an_image_group_of_that_title_is_not_replaced_by_a_file(workspace, folder):
    make_item(folder, "group", kind=ItemKind.IMAGE_GROUP)
    blob = media_store(data=image_bytes(), filename="group")
    with pytest.raises(MediaRefused, match="is image group, not an image or a video"):
        item_attach_media(workspace=workspace, folder=folder, title="group", blob=blob)
    assert Item.objects.get(folder=folder, title="group").blob_id is None


def test_a_folder_of_another_workspace_is_refused(workspace, folder):
    from tests.factories import make_workspace

    other = make_workspace("other")
    blob = media_store(data=image_bytes(), filename="a.jpg")
    with pytest.raises(ValueError, match="another workspace"):
        item_attach_media(workspace=other, folder=folder, title="a.jpg", blob=blob)

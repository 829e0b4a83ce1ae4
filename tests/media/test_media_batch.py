"""The media worker's runs are background tasks like the others: a MediaBatch row per queued batch of items, with
its progress and what became of the items, on the Tasks page."""

import pytest
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.lib.taskmodel import TaskStatus
from metadata_site.media.models import MediaBatch
from metadata_site.media.services import item_queue_media
from metadata_site.media.storage import media_storage
from tests.factories import make_folder, make_item

from .helpers import image_bytes, uploaded


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_queueing_items_makes_one_batch_that_reports_what_became_of_them(
        workspace, owner, login, django_capture_on_commit_callbacks):
    folder = make_folder(workspace, "f")
    good = uploaded(workspace, image_bytes(), "good.jpg", folder=folder, make=False)
    broken = uploaded(workspace, image_bytes(color=(0, 200, 0)), "broken.jpg", folder=folder, make=False)
    media_storage().delete(broken.blob.storage_name)  # its stored original went missing
    MediaBatch.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert item_queue_media(items=Item.objects.filter(workspace=workspace)) == 2
    batch = MediaBatch.objects.get()
    assert (batch.status, batch.total, batch.done, batch.ready, batch.unreadable) == (TaskStatus.COMPLETED, 2, 2, 1, 1)
    assert batch.workspace == workspace and batch.arguments == {"item_ids": sorted([good.pk, broken.pk])}
    html = login(owner).get(reverse("workspaces:tasks", args=["acme"])).content.decode()
    assert 'data-kind="Thumbnails and properties"' in html and "2 of 2 items read" in html


def test_nothing_to_read_queues_no_batch(workspace, django_capture_on_commit_callbacks):
    make_item(make_folder(workspace, "f"), "no-media.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        assert item_queue_media(items=Item.objects.filter(workspace=workspace)) == 0
    assert not MediaBatch.objects.exists()

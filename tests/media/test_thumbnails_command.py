"""manage.py thumbnails: (re)makes the thumbnails and properties of a workspace's items, or only the missing ones,
now or through the worker's queue."""

import io

import pytest
from django.core.management import CommandError, call_command

from metadata_site.items.models import Item, MediaStatus
from metadata_site.media.storage import media_storage
from tests.factories import make_folder, make_item

from .helpers import image_bytes, uploaded

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("thumbnails", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def items(workspace):
    folder = make_folder(workspace)
    ready = uploaded(workspace, image_bytes(100, 50), "ready.jpg", folder=folder)
    pending = uploaded(workspace, image_bytes(60, 40, fmt="PNG"), "pending.png", folder=folder, make=False)
    make_item(folder, "no-media.jpg")
    return ready, pending


def test_missing_makes_only_the_items_without_a_thumbnail(items):
    ready, pending = items
    before = ready.thumbnail_name
    out = _run("--workspace", "acme", "--missing")
    assert "1 ready" in out
    pending.refresh_from_db()
    ready.refresh_from_db()
    assert (pending.media_status, pending.width, pending.height) == (MediaStatus.READY, 60, 40)
    assert ready.thumbnail_name == before


def test_without_missing_every_item_with_media_is_made_again(items):
    ready, _ = items
    media_storage().delete(ready.thumbnail_name)  # a lost thumbnail is written again
    out = _run("--workspace", "acme")
    assert "2 ready" in out
    assert media_storage().exists(ready.thumbnail_name)


def test_queue_hands_them_to_the_worker(items, django_capture_on_commit_callbacks):
    ready, _ = items
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out = _run("--workspace", "acme", "--queue")
    assert "queued 2 items" in out and len(callbacks) == 1
    ready.refresh_from_db()
    assert ready.media_status == MediaStatus.READY


def test_an_unknown_workspace_is_an_error():
    with pytest.raises(CommandError, match="No workspace 'nope'"):
        _run("--workspace", "nope")


def test_missing_also_fills_the_visual_descriptor_of_older_images(items):
    ready, _ = items
    Item.objects.filter(pk=ready.pk).update(phash=None, colour=None)  # read before descriptors existed
    _run("--workspace", "acme", "--missing")
    ready.refresh_from_db()
    assert ready.phash is not None and len(bytes(ready.colour)) == 256

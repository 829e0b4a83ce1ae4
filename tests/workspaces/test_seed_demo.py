import json

import pytest
from django.core.management import CommandError, call_command

from metadata_site.items.models import Item, ItemKind, MediaStatus
from metadata_site.lib import corpus
from metadata_site.projects.models import Dataset, Project
from metadata_site.schemas.models import MetadataSchema


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_it_builds_the_demo_workspace_once(db, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", items=60)
    count = Item.objects.count()
    assert count > 60
    # Real pictures and videos, through the upload pipeline and the worker.
    images = Item.objects.filter(kind=ItemKind.IMAGE)
    assert images.count() == 60 and not images.filter(blob__isnull=True).exists()
    assert set(images.values_list("media_status", "width", "height", "content_type")) == {
        (MediaStatus.READY, 640, 480, "image/jpeg")}
    videos = Item.objects.filter(kind=ItemKind.VIDEO)
    assert videos.count() == 3
    for video in videos:
        assert (video.content_type, video.width, video.fps) == ("video/mp4", 320, 24.0)
        assert len(video.media_info["keyframes"]) == 4  # one each second
        assert video.frames.filter(kind=ItemKind.FRAME, blob__isnull=False).count() == 2
    group = Item.objects.filter(kind=ItemKind.IMAGE_GROUP).first()
    assert group.frames.filter(media_status=MediaStatus.READY).count() == 5 and group.thumbnail_name
    assert Project.objects.count() == 2
    assert Dataset.objects.count() == 3
    assert MetadataSchema.objects.get().version == 1
    call_command("seed_demo", items=60)
    assert Item.objects.count() == count


def test_it_refuses_to_run_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", items=10)
    call_command("seed_demo", items=10, force=True)


def test_it_loads_a_corpus_exactly_as_given(db, settings, tmp_path):
    settings.DEBUG = True
    path = tmp_path / "c.jsonl"
    records = list(corpus.generate(25))
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    call_command("seed_demo", corpus=path, workspace="bench")
    item = Item.objects.get(uid=records[7]["media_id"])
    assert item.title == records[7]["title"]
    assert item.client_metadata == records[7]["metadata"]
    assert Item.objects.filter(workspace__slug="bench").count() == 25

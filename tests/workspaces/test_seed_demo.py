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
    images = Item.objects.filter(kind=ItemKind.IMAGE).exclude(folder__name="incoming (no schema yet)")
    assert Item.objects.filter(folder__name="incoming (no schema yet)").count() == 24  # metadata only, no schema
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
    night = Dataset.objects.get(name="night-all")
    assert sorted(night.projects.values_list("name", flat=True)) == ["Night driving", "Road scenes"]
    assert night.project.name == "Night driving"
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


def test_a_second_demo_workspace_loads_beside_the_first(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", items=30)
    call_command("seed_demo", items=30, workspace="other")
    demo = set(Item.objects.filter(workspace__slug="demo").values_list("uid", flat=True))
    other = set(Item.objects.filter(workspace__slug="other").values_list("uid", flat=True))
    assert len(demo) == len(other) > 30
    assert not demo & other
    assert Project.objects.filter(workspace__slug="other").count() == 2
    call_command("seed_demo", items=30, workspace="other")
    assert Item.objects.filter(workspace__slug="other").count() == len(other)


def test_a_benchmark_corpus_loads_beside_the_demo_and_beside_another_that_used_its_ids(db, settings, tmp_path):
    settings.DEBUG = True
    call_command("seed_demo", items=20)
    path = tmp_path / "c.jsonl"
    records = list(corpus.generate(25))
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    call_command("seed_demo", corpus=path, workspace="bench")
    call_command("seed_demo", corpus=path, workspace="bench2")  # the same fixed ids: derived ones for this one
    for slug in ("bench", "bench2"):
        loaded = Item.objects.filter(workspace__slug=slug)
        assert loaded.count() == 25
        assert sorted(loaded.values_list("title", flat=True)) == sorted(r["title"] for r in records)
    assert Item.objects.get(uid=records[0]["media_id"]).workspace.slug == "bench"


def test_the_demo_has_undeclared_keys_to_filter_and_to_infer_a_schema_from(db, settings):
    from metadata_site.explorer import query as fl
    from metadata_site.projects.models import Folder
    from metadata_site.schemas.fields import FieldType
    from metadata_site.schemas.inference import infer_schema
    from metadata_site.schemas.selectors import schema_current
    from metadata_site.workspaces.models import Workspace

    settings.DEBUG = True
    call_command("seed_demo", items=30)
    ws = Workspace.objects.get(slug="demo")
    schema = schema_current(workspace=ws)
    folder = Folder.objects.get(workspace=ws, name="incoming (no schema yet)")
    query = fl.parse_query_string({"f": ["group-id:eq:A"]}, schema=schema)
    assert fl.items_matching(query, schema=schema, workspace=ws).count() == 8
    fields = {s.name: s for s in infer_schema(workspace=ws, scope=fl.Scope("folder", folder.pk), schema=schema).fields}
    assert fields["group-id"].type == FieldType.ENUM and fields["tags"].is_multi
    assert fields["blur_score"].type == FieldType.FLOAT and fields["lane_count"].type == FieldType.INTEGER
    assert fields["reviewed_at"].type == FieldType.DATETIME

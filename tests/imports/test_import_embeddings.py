"""Importing custom embeddings in the Encord shape: an image's vector under its clientMetadata key, a video's
per-frame vectors and metadata under clientMetadata.$frames (with its config), mapped to the keyframe items;
a bad vector refuses its row with the row, the key (and the frame) in the reason; metadata rows carry vectors
too. Vectors are stored in media.Embedding, never in the JSON document."""

import numpy as np
import pytest

from metadata_site.imports.kinds import base as kinds
from metadata_site.items.models import Item, ItemKind
from metadata_site.media.models import Embedding
from metadata_site.schemas import validation as v

from ..factories import make_folder, make_item, make_schema
from .helpers import run_import

pytestmark = pytest.mark.django_db

CLIP = [0.5, -1.0, 2.0]


@pytest.fixture
def folder(workspace):
    make_schema(workspace, [
        {"name": "clip", "type": "embedding", "dimension": 3, "distance": "cosine"},
        {"name": "dark", "type": "boolean"},
    ])
    return make_folder(workspace, "new")


def _vector(item):
    row = Embedding.objects.filter(item=item, field="clip").first()
    return None if row is None else np.frombuffer(bytes(row.vector), dtype="<f4").tolist()


def test_an_image_and_a_video_with_frame_embeddings_import_in_the_encord_shape(workspace, owner, folder):
    spec = {
        "images": [{"objectUrl": "https://cdn.example.com/1.jpg", "clientMetadata": {"dark": True, "clip": CLIP}}],
        "videos": [{"objectUrl": "https://cdn.example.com/v.mp4", "title": "v.mp4", "keyframes": [12],
                    "config": {"sampling_rate": 0, "keyframe_mode": "frame"},
                    "clientMetadata": {"dark": False, "$frames": {"0": {"clip": [1, 0, 0]},
                                                                  "30": {"clip": [0, 1, 0], "dark": True}}}}],
    }
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.error_count) == ("COMPLETED", 0), task.sample_errors
    image = Item.objects.get(folder=folder, title="1.jpg")
    assert image.client_metadata == {"dark": True} and _vector(image) == CLIP
    video = Item.objects.get(folder=folder, title="v.mp4")
    assert video.client_metadata == {"dark": False, "keyframes": [12, 0, 30]}
    frames = {f.frame_index: f for f in Item.objects.filter(parent=video, kind=ItemKind.FRAME)}
    assert sorted(frames) == [0, 12, 30]
    assert _vector(frames[0]) == [1, 0, 0] and _vector(frames[30]) == [0, 1, 0] and _vector(frames[12]) is None
    assert frames[30].client_metadata == {"dark": True} and frames[0].client_metadata == {}


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({"clip": [1, 2]}, "clip: " + v.VALUE_EMBEDDING_LENGTH.format(dimension=3, count=2)),
        ({"$frames": {"3": {"clip": [1, "x", 0]}}},
         kinds.ROW_FRAMES_METADATA.format(frame=3, reason="clip: " + v.VALUE_EMBEDDING_ELEMENT.format(index=1, value="x"))),
        ({"$frames": {"three": {}}}, kinds.ROW_FRAMES_BAD_FRAME.format(key="three")),
        ({"$frames": [1]}, kinds.ROW_FRAMES_NOT_AN_OBJECT.format(found="an array")),
    ],
)
def test_a_bad_vector_or_frames_object_refuses_its_row_with_the_reason(workspace, owner, folder, metadata, reason):
    spec = {"videos": [{"objectUrl": "https://cdn.example.com/ok.mp4", "clientMetadata": {"clip": CLIP}},
                       {"objectUrl": "https://cdn.example.com/v.mp4", "clientMetadata": metadata}]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert task.error_count == 1
    assert task.sample_errors[0]["row_index"] == 1
    assert task.sample_errors[0]["reason"].startswith(reason.rstrip(".")), task.sample_errors
    assert not Item.objects.filter(title="v.mp4").exists()
    assert Embedding.objects.count() == 1


def test_frames_are_for_videos_only(workspace, owner, folder):
    spec = {"images": [{"objectUrl": "https://cdn.example.com/1.jpg", "clientMetadata": {"$frames": {}}}]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert task.sample_errors[0]["reason"] == kinds.ROW_FRAMES_NOT_VIDEO


def test_metadata_rows_carry_vectors(workspace, owner, folder):
    item = make_item(folder, "a.jpg", metadata={"dark": True})
    task = run_import(workspace, owner, [{"media_id": str(item.uid), "metadata": {"clip": CLIP}}], "rows.json")
    assert (task.status, task.error_count) == ("COMPLETED", 0), task.sample_errors
    item.refresh_from_db()
    assert item.client_metadata == {"dark": True} and _vector(item) == CLIP


def test_undoing_an_import_counts_the_vectors_of_the_items_it_created_against_the_index(
        settings, tmp_path, workspace, owner, folder, django_capture_on_commit_callbacks):
    from metadata_site.imports.services import import_task_undo
    from metadata_site.media import vectors
    from metadata_site.media.models import VectorIndex

    settings.VECTOR_INDEX_DIR = tmp_path
    spec = {"images": [{"objectUrl": f"https://cdn.example.com/{n}.jpg", "clientMetadata": {"clip": [n + 1, 0, 1]}}
                       for n in range(3)]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    vectors.index_build(workspace_id=workspace.pk, field="clip")
    assert VectorIndex.objects.get(workspace=workspace, field="clip").dirty == 0
    with django_capture_on_commit_callbacks(execute=True):
        import_task_undo(task=task, user=owner)
    assert not Embedding.objects.filter(workspace=workspace).exists()
    assert VectorIndex.objects.get(workspace=workspace, field="clip").dirty == 3

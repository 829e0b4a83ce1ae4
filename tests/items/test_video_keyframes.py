"""A video's keyframes are items of kind frame under it, kept in step with its `keyframes` on every write path;
a data import's `config` is validated and stored on the video; nothing in a data import record is dropped."""

import pytest
from django.urls import reverse

from metadata_site.explorer import query as fl
from metadata_site.explorer.query.reference import RefItem, evaluate
from metadata_site.items.models import Item, ItemKind
from metadata_site.items.services import (
    change_set_undo,
    item_metadata_write,
    video_keyframes_sync,
)
from metadata_site.schemas.selectors import schema_current
from tests.factories import make_folder, make_item, make_schema
from tests.imports.helpers import corpus_schema, run_import


def frames(video):
    return sorted((f.frame_index, f.title, f.kind, f.client_metadata) for f in Item.objects.filter(parent=video))


def video_in(folder, title="v.mp4", **md):
    return make_item(folder, title, kind=ItemKind.VIDEO, metadata=md)


def test_keyframes_written_to_a_video_become_frame_items_and_undo_takes_them_back(workspace, owner):
    folder = make_folder(workspace)
    video = video_in(folder)
    result = item_metadata_write(workspace=workspace, user=owner, updates={video.pk: {"keyframes": [3, 12]}},
                                 mode="merge")
    assert frames(video) == [(3, "v.mp4 · frame 3", "frame", {}), (12, "v.mp4 · frame 12", "frame", {})]
    change_set_undo(change_set=result.change_set, user=owner)
    assert frames(video) == []


def test_a_removed_keyframe_keeps_its_item_while_it_holds_metadata(workspace, owner):
    make_schema(workspace, [{"name": "blurry", "type": "boolean"}])
    folder = make_folder(workspace)
    video = video_in(folder, keyframes=[1, 2])
    video_keyframes_sync(workspace=workspace, item_ids=[video.pk])
    kept = Item.objects.get(parent=video, frame_index=2)
    item_metadata_write(workspace=workspace, user=owner, updates={kept.pk: {"blurry": True}}, mode="merge")
    item_metadata_write(workspace=workspace, user=owner, updates={video.pk: {"keyframes": [5]}}, mode="merge")
    assert [(n, md) for n, _, _, md in frames(video)] == [(2, {"blurry": True}), (5, {})]


def test_only_videos_get_keyframe_items(workspace, owner):
    folder = make_folder(workspace)
    image = make_item(folder, "i.jpg")
    video_keyframes_sync(workspace=workspace, item_ids=[image.pk])
    assert not Item.objects.filter(parent=image).exists()


VIDEOS = {"videos": [
    {"objectUrl": "https://cdn.example.com/a.mp4", "title": "a.mp4", "keyframes": [5, 9],
     "config": {"sampling_rate": 0, "keyframe_mode": "frame"}},
    {"objectUrl": "https://cdn.example.com/b.mp4", "title": "b.mp4", "keyframes": [2],
     "config": {"sampling_rate": "2.5", "keyframe_mode": "seconds"}},
    {"objectUrl": "https://cdn.example.com/c.mp4", "title": "c.mp4", "keyframes": [7]},
    {"objectUrl": "https://cdn.example.com/d.mp4", "title": "d.mp4", "config": {"sampling_rate": -1}},
    {"objectUrl": "https://cdn.example.com/e.mp4", "title": "e.mp4", "config": {"keyframe_mode": "minutes"}},
    {"objectUrl": "https://cdn.example.com/f.mp4", "title": "f.mp4", "config": {"fps": 30}},
    {"objectUrl": "https://cdn.example.com/g.mp4", "title": "g.mp4", "createVideo": True, "extra": 1},
    {"objectUrl": "https://cdn.example.com/h.mp4", "title": "h.mp4", "config": []},
], "images": [{"objectUrl": "https://cdn.example.com/i.jpg", "config": {"sampling_rate": 1}}]}


def test_a_data_import_validates_and_stores_the_config_and_reports_every_unknown_key(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "videos")
    task = run_import(workspace, owner, VIDEOS, "videos.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows) == ("COMPLETED_WITH_ERRORS", 3)
    assert task.sample_errors == [
        {"row_index": 3, "reason": "config.sampling_rate must be a number of samples per second, 0 or more, got -1."},
        {"row_index": 4, "reason": 'config.keyframe_mode must be "frame" or "seconds", got \'minutes\'.'},
        {"row_index": 5, "reason": "Unknown key 'fps' in config: expected sampling_rate, keyframe_mode."},
        {"row_index": 6, "reason": "Unknown keys 'createVideo', 'extra' in the video: expected objectUrl, title, "
                                   "clientMetadata, keyframes, config."},
        {"row_index": 7, "reason": "config must be a JSON object, got an array."},
        {"row_index": 8, "reason": "config is for videos only."},
    ]
    a, b, c = (Item.objects.get(folder=folder, title=t) for t in ("a.mp4", "b.mp4", "c.mp4"))
    assert a.video_config == {"sampling_rate": 0, "keyframe_mode": "frame"}
    assert b.video_config == {"sampling_rate": 2.5, "keyframe_mode": "seconds"}
    assert c.video_config is None
    # sampling rate 0: the first frame and the keyframes; keyframes in seconds are titled so
    assert [n for n, *_ in frames(a)] == [0, 5, 9]
    assert [t for _, t, *_ in frames(b)] == ["b.mp4 · 2 s"]
    assert [n for n, *_ in frames(c)] == [7]


def test_reimporting_a_video_with_other_keyframes_moves_its_keyframe_items(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "videos")
    spec = {"videos": [{"objectUrl": "https://cdn.example.com/a.mp4", "title": "a.mp4", "keyframes": [5]}]}
    run_import(workspace, owner, spec, "v.json", kind="data", target={"folder": folder.pk})
    spec["videos"][0].update(keyframes=[6], config={"sampling_rate": 0})
    task = run_import(workspace, owner, spec, "v.json", kind="data", target={"folder": folder.pk})
    assert task.status == "COMPLETED"
    video = Item.objects.get(folder=folder, title="a.mp4")
    assert [n for n, *_ in frames(video)] == [0, 6]
    assert video.video_config == {"sampling_rate": 0, "keyframe_mode": "frame"}


def test_the_explorer_filters_the_keyframes_of_a_video_like_the_reference(workspace, owner):
    make_schema(workspace, [{"name": "blurry", "type": "boolean"}])
    folder = make_folder(workspace)
    one, two = video_in(folder, "one.mp4", keyframes=[1, 2]), video_in(folder, "two.mp4", keyframes=[3])
    video_keyframes_sync(workspace=workspace, item_ids=[one.pk, two.pk])
    schema = schema_current(workspace=workspace)
    items = list(Item.objects.filter(workspace=workspace).select_related("parent"))
    refs = [RefItem(id=i.pk, title=i.title, kind=i.kind, metadata=i.client_metadata,
                    parent_uid=str(i.parent.uid) if i.parent else None) for i in items]
    for params in ([f"frame_of:eq:{one.uid}"], [f"frame_of:in:{one.uid},{two.uid}", "kind:eq:frame"],
                   [f"frame_of:eq:{two.uid}", "meta.kind:is_set"]):
        query = fl.parse_query_string({"f": params}, schema=schema)
        expected = evaluate(refs, query, schema=schema)
        assert sorted(fl.items_matching(query, schema=schema, workspace=workspace).values_list("pk", flat=True)) \
            == sorted(expected)
    assert len(evaluate(refs, fl.parse_query_string({"f": [f"frame_of:eq:{one.uid}"]}, schema=schema),
                        schema=schema)) == 2
    with pytest.raises(fl.FilterError, match="'frame_of' expects an item's media id"):
        fl.parse_query_string({"f": ["frame_of:eq:nope"]}, schema=schema)


def test_the_video_page_lists_its_keyframes_and_config(login, workspace, owner, member, stranger):
    folder = make_folder(workspace)
    video = video_in(folder, keyframes=[4])
    Item.objects.filter(pk=video.pk).update(video_config={"sampling_rate": 0, "keyframe_mode": "frame"})
    video_keyframes_sync(workspace=workspace, item_ids=[video.pk])
    url = reverse("items:item", args=[workspace.slug, video.uid])
    body = login(owner).get(url).content.decode()
    assert "v.mp4 · frame 0" in body and "v.mp4 · frame 4" in body
    assert "sampling rate 0 a second (only the first frame and the keyframes)" in body
    assert f"f=frame_of%3Aeq%3A{video.uid}" in body
    assert login(member).get(url).status_code == 200
    assert login(stranger).get(url).status_code == 404

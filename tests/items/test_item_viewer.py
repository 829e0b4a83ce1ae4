"""The item page as the viewer: the stored original on the stage, a video's player and timeline (keyframes the
worker found, declared keyframes, frame items), the media properties, and the "cannot read" note; the grids show
versioned real thumbnails, a pending spinner and the error badge."""

import pytest
from django.urls import reverse

from metadata_site.items.models import Item, ItemKind
from tests.factories import make_folder, make_item
from tests.media.helpers import image_bytes, uploaded, video_bytes


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "cams")


def _page(client, item):
    return client.get(reverse("items:item", args=["acme", item.uid]))


def test_an_image_shows_its_original_on_the_stage_with_its_properties(login, owner, workspace, folder):
    item = uploaded(workspace, image_bytes(400, 300), "cat.jpg", folder=folder)
    response = _page(login(owner), item)
    media = response.context["media"]
    assert media["kind"] == "image" and media["src"] == reverse("media:original", args=["acme", item.uid])
    html = response.content.decode()
    assert f'id="stage-img" src="{media["src"]}"' in html and "400 × 300 px" in html and "image/jpeg" in html


def test_an_item_without_media_keeps_the_generated_placeholder(login, owner, folder):
    item = make_item(folder, "plain.jpg")
    media = _page(login(owner), item).context["media"]
    assert media["src"] == reverse("items:thumbnail", args=["acme", item.uid]) and media["status_note"] == ""


def test_a_file_that_cannot_be_read_says_why_on_the_page_and_in_the_grids(login, owner, workspace, folder):
    item = uploaded(workspace, image_bytes(64, 48)[:200] + b"\x00" * 50, "broken.jpg", folder=folder)
    html = _page(login(owner), item).content.decode()
    assert 'class="media-note"' in html and "cannot read this file: " in html
    grid = login(owner).get(reverse("explorer:explore", args=["acme"])).content.decode()
    assert 'class="media-badge" role="status">cannot read this file: ' in grid
    folder_page = login(owner).get(reverse("projects:folder", args=["acme", folder.pk])).content.decode()
    assert 'class="media-badge"' in folder_page


def test_a_pending_item_shows_a_spinner_in_the_grid(login, owner, workspace, folder):
    uploaded(workspace, image_bytes(64, 48), "later.jpg", folder=folder, make=False)
    grid = login(owner).get(reverse("explorer:explore", args=["acme"])).content.decode()
    assert 'class="media-box media-pending" data-status="pending"' in grid


def test_the_grid_uses_the_versioned_thumbnail_at_the_pictures_aspect_ratio(login, owner, workspace, folder):
    item = uploaded(workspace, image_bytes(300, 100), "wide.jpg", folder=folder)
    grid = login(owner).get(reverse("explorer:explore", args=["acme"])).content.decode()
    assert f'{reverse("items:thumbnail", args=["acme", item.uid])}?v=' in grid
    assert 'width="300" height="100"' in grid and 'loading="lazy"' in grid


def test_a_video_plays_its_original_with_keyframes_declared_keyframes_and_frame_items_on_the_timeline(
    login, owner, workspace, folder
):
    video = uploaded(workspace, video_bytes(seconds=2.0, fps=25, gop=10), "clip.mp4", folder=folder)
    Item.objects.filter(pk=video.pk).update(client_metadata={"keyframes": [5]})
    make_item(folder, "clip_f30", kind=ItemKind.FRAME, parent=video, frame_index=30)
    response = _page(login(owner), video)
    media = response.context["media"]
    assert media["kind"] == "video" and media["src"] == reverse("media:original", args=["acme", video.uid])
    times = {m["time"]: m for m in media["keyframes"]}
    assert {0.0, 0.4, 0.8, 1.2, 1.6} <= set(times)  # the worker's keyframes, every 10 frames at 25 fps
    assert times[0.2]["label"].startswith("keyframe 5") and times[1.2]["source"] == "item"
    assert all(0 <= m["percent"] <= 100 for m in media["keyframes"])
    html = response.content.decode()
    assert f'<video id="video" controls preload="metadata" src="{media["src"]}"' in html
    assert html.count('class="kf') >= 6 and 'data-time="1.2"' in html


def test_a_stranger_gets_404_for_the_viewer(login, stranger, workspace, folder):
    item = uploaded(workspace, image_bytes(40, 30), "x.jpg", folder=folder)
    assert _page(login(stranger), item).status_code == 404


def test_owner_and_member_see_the_viewer(login, owner, member, workspace, folder):
    item = uploaded(workspace, image_bytes(40, 30), "x.jpg", folder=folder)
    assert _page(login(owner), item).status_code == 200
    assert _page(login(member), item).status_code == 200


def test_dataset_and_collection_pages_show_the_real_thumbnails(login, owner, workspace, folder, django_assert_max_num_queries):
    from tests.factories import make_collection, make_dataset, make_project

    item = uploaded(workspace, image_bytes(64, 48), "pic.jpg", folder=folder)
    versioned = f'{reverse("items:thumbnail", args=["acme", item.uid])}?v='
    dataset = make_dataset(make_project(workspace, "p"), "d", items=[item])
    assert versioned in login(owner).get(reverse("projects:dataset", args=["acme", dataset.pk])).content.decode()
    make_collection(workspace, "picked", items=[item])
    make_collection(workspace, "live", kind="live", filter={"all": []})
    client = login(owner)
    client.get(reverse("collections:list", args=["acme"]))
    with django_assert_max_num_queries(20):  # the thumbnails' names come with the items, not one query each
        html = client.get(reverse("collections:list", args=["acme"])).content.decode()
    assert html.count(versioned) == 2

"""Real media in real Chromium: drop images and a video on a folder page and watch the progress, see their real
thumbnails in the explorer (pixels checked), open the viewer, seek the video to a keyframe; a stranger gets 404
for a media URL and a thumbnail URL."""

import base64

import pytest

from metadata_site.items.models import Item, MediaStatus
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_user, make_workspace
from tests.media.helpers import image_bytes, video_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RED, GREEN = (220, 20, 20), (20, 200, 40)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice():
    user = make_user("alice")
    make_workspace("acme", members={user: Role.EDITOR})
    return user


@pytest.fixture
def folder(alice):
    return make_folder(alice.memberships.get().workspace, "uploads")


DROP = """([files, selector]) => {
  const dt = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type }));
  }
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""

PIXEL = """img => {
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return [img.naturalWidth, img.naturalHeight, Array.from(ctx.getImageData(c.width >> 1, c.height >> 1, 1, 1).data)];
}"""


def _file(name: str, kind: str, data: bytes) -> list:
    return [name, kind, base64.b64encode(data).decode()]


def _close(rgb, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=False))


def test_drop_images_and_a_video_then_see_them_explore_them_and_seek_the_video(live_server, browser_login, alice, folder):
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/folders/{folder.pk}/")
    page.wait_for_selector("#dropzone:not([hidden])")
    files = [
        _file("red.jpg", "image/jpeg", image_bytes(320, 200, color=RED)),
        _file("green.png", "image/png", image_bytes(160, 240, fmt="PNG", color=GREEN)),
        _file("drive.mp4", "video/mp4", video_bytes(seconds=2.0, fps=25, size=(160, 120), gop=10)),
        _file("notes.jpg", "image/jpeg", b"<html>not a picture</html>"),
    ]
    page.evaluate(DROP, [files, "#dropzone"])
    page.wait_for_selector("#dropzone[data-state=done]")
    rows = page.locator(".upload-file")
    assert rows.count() == 4
    assert page.locator(".upload-file.ok").count() == 3
    assert "not accepted" in page.inner_text(".upload-file.failed .state")
    assert page.eval_on_selector("#upload-progress", "p => p.value === p.max")
    assert page.eval_on_selector_all(".upload-file progress", "ps => ps.every(p => p.value === p.max)")
    assert "Done: 3 uploaded, 1 failed." in page.inner_text(".upload-summary")
    # The grid reloads with the new items.
    page.wait_for_selector("#folder-items .thumb >> text=red.jpg")
    items = {i.title: i for i in Item.objects.filter(folder=folder)}
    assert set(items) == {"red.jpg", "green.png", "drive.mp4"}
    assert {i.media_status for i in items.values()} == {MediaStatus.READY}

    # Dropping a file with a name already in the folder updates that item.
    page.evaluate(DROP, [[_file("red.jpg", "image/jpeg", image_bytes(100, 100, color=GREEN))], "#dropzone"])
    page.wait_for_selector(".upload-file:nth-child(5).ok")
    assert page.inner_text(".upload-file:nth-child(5) .state") == "updated"
    assert Item.objects.filter(folder=folder, title="red.jpg").count() == 1
    page.evaluate(DROP, [[_file("red.jpg", "image/jpeg", image_bytes(320, 200, color=RED))], "#dropzone"])
    page.wait_for_selector(".upload-file:nth-child(6).ok")

    # The explorer shows the real thumbnails: decoded pixels, at the picture's aspect ratio.
    page.goto(f"{live_server.url}/w/acme/explore/?sort=title")
    page.wait_for_function("() => [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth)")
    shown = {}
    for tile in page.locator("#grid .thumb").all():
        shown[tile.locator(".cap").inner_text().split()[0]] = tile.locator("img").evaluate(PIXEL)
    w, h, rgba = shown["red.jpg"]
    assert (w, h) == (320, 200) and _close(rgba, RED)
    w, h, rgba = shown["green.png"]
    assert h > w and _close(rgba, GREEN)
    assert shown["drive.mp4"][0] == 160

    # The viewer: the video plays its original and seeks to a keyframe.
    page.click("#grid .thumb:has-text('drive.mp4') .thumb-link")
    page.wait_for_selector("#video")
    page.wait_for_function("() => document.getElementById('video').readyState >= 1")
    marks = page.locator("#timeline .kf")
    assert marks.count() >= 2
    target = float(marks.nth(2).get_attribute("data-time"))
    marks.nth(2).click()
    page.wait_for_function("t => Math.abs(document.getElementById('video').currentTime - t) < 0.05", arg=target)
    page.locator("#keyframe-list .kf-card").nth(1).click()
    page.wait_for_function("t => Math.abs(document.getElementById('video').currentTime - t) < 0.05",
                           arg=float(page.locator("#keyframe-list .kf-card").nth(1).get_attribute("data-time")))


def test_a_viewer_sees_no_drop_zone(live_server, browser_login, folder):
    viewer = make_user("vera")
    workspace = folder.workspace
    workspace.memberships.create(user=viewer, role=Role.VIEWER)
    page = browser_login(viewer)
    page.goto(f"{live_server.url}/w/acme/folders/{folder.pk}/")
    assert page.locator("#dropzone").count() == 0


def test_a_stranger_gets_404_for_a_media_url_and_a_thumbnail_url(live_server, browser_login, alice, folder):
    from tests.media.helpers import uploaded

    item = uploaded(folder.workspace, image_bytes(40, 30, color=RED), "secret.jpg", folder=folder)
    assert item.thumbnail_name
    mallory = make_user("mallory")
    make_workspace("elsewhere", members={mallory: Role.ADMIN})
    page = browser_login(mallory)
    for url in (f"/w/acme/items/{item.uid}/original", f"/w/acme/items/{item.uid}/thumb.png",
                f"/w/acme/items/{item.uid}/keyframes/0", f"/w/acme/items/{item.uid}/"):
        assert page.request.get(live_server.url + url).status == 404, url
    owner_page = browser_login(alice)
    assert owner_page.request.get(f"{live_server.url}/w/acme/items/{item.uid}/original").status == 200


def test_screenshot_media_grid_and_viewer(live_server, browser_login, alice, folder):
    """The README's pictures of the grid and the viewer, with demo pictures (make screenshots)."""
    import os
    from pathlib import Path

    from metadata_site.lib import corpus, demo_scenes
    from tests.factories import make_schema
    from tests.media.helpers import uploaded

    target = os.environ.get("SCREENSHOTS")
    if not target:
        pytest.skip("set SCREENSHOTS=<dir> to save screenshots (make screenshots)")
    make_schema(folder.workspace, corpus.schema_fields())
    for n, rec in enumerate(corpus.generate(24)):
        Item.objects.filter(pk=uploaded(folder.workspace, demo_scenes.jpeg(rec["metadata"], seed=n), rec["title"],
                                        folder=folder).pk).update(client_metadata=rec["metadata"])
    page = browser_login(alice)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/w/acme/explore/?sort=-temperature&cols=weather,temperature,camera")
    page.wait_for_function("() => [...document.querySelectorAll('#grid img')].slice(0, 12).every(i => i.complete && i.naturalWidth)")
    Path(target).mkdir(parents=True, exist_ok=True)
    page.locator("#grid .thumb").nth(1).hover()
    page.screenshot(path=str(Path(target) / "media-grid.jpg"), type="jpeg", quality=85)
    page.click("#grid .thumb:nth-child(2) .thumb-link")
    page.wait_for_selector("#stage[data-zoom]")
    page.screenshot(path=str(Path(target) / "viewer.jpg"), type="jpeg", quality=85)

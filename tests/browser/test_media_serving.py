"""Media served to real Chromium: a member's page loads the worker's thumbnail (its pixels checked on a canvas),
the original video plays its metadata and seeks to a keyframe through Range requests; a stranger gets 404 for the
original and the thumbnail."""

import pytest
from django.urls import reverse

from metadata_site.media.selectors import item_keyframes, item_original_url, item_thumbnail_url
from metadata_site.workspaces.models import Role
from tests.factories import make_user, make_workspace
from tests.media.helpers import image_bytes, uploaded, video_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIXEL = """async (url) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return [img.naturalWidth, img.naturalHeight, Array.from(ctx.getImageData(10, img.naturalHeight / 2, 1, 1).data)];
}"""

SEEK = """async ([url, t]) => {
  const video = document.createElement("video");
  video.muted = true; video.preload = "auto"; video.src = url;
  document.body.appendChild(video);
  await new Promise((ok, fail) => { video.onloadedmetadata = ok; video.onerror = () => fail(video.error.message); });
  const duration = video.duration;
  await new Promise((ok) => { video.onseeked = ok; video.currentTime = t; });
  return [duration, video.currentTime, video.videoWidth];
}"""

STATUS = """async ([url, range]) => {
  const response = await fetch(url, range ? {headers: {Range: range}} : {});
  return [response.status, (await response.arrayBuffer()).byteLength];
}"""


@pytest.fixture(params=[("mp4", "libx264"), ("webm", "libvpx-vp9")], ids=["h264-mp4", "vp9-webm"])
def media(settings, tmp_path, request):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = make_user("member")
    workspace = make_workspace("acme", members={member: Role.VIEWER})
    photo = uploaded(workspace, image_bytes(1280, 720), "photo.jpg")
    fmt, codec = request.param
    clip = uploaded(workspace, video_bytes(seconds=2, fps=25, size=(64, 48), gop=10, fmt=fmt, codec=codec),
                    f"clip.{fmt}")
    return member, photo, clip


def test_a_member_sees_the_real_thumbnail_and_seeks_the_video_to_a_keyframe(live_server, browser_login, media):
    member, photo, clip = media
    page = browser_login(member)
    width, height, (r, g, b, _) = page.evaluate(PIXEL, live_server.url + item_thumbnail_url(slug="acme", item=photo))
    assert (width, height) == (320, 180)
    assert r > 200 and b < 60  # the photo's red left half, not a placeholder
    keyframe = item_keyframes(slug="acme", item=clip)[2]
    duration, current, video_width = page.evaluate(SEEK, [live_server.url + item_original_url(slug="acme", item=clip),
                                                          keyframe["t"]])
    assert duration == pytest.approx(2.0, abs=0.1) and current == pytest.approx(keyframe["t"], abs=0.05)
    assert video_width == 64
    status, size = page.evaluate(STATUS, [live_server.url + item_original_url(slug="acme", item=clip), "bytes=0-99"])
    assert (status, size) == (206, 100)


def test_a_stranger_gets_404_for_the_original_and_the_thumbnail(live_server, browser_login, media):
    _, photo, clip = media
    stranger = make_user("stranger")
    make_workspace("elsewhere", members={stranger: Role.ADMIN})
    page = browser_login(stranger)
    for url in (item_original_url(slug="acme", item=clip), reverse("items:thumbnail", args=["acme", photo.uid]),
                item_keyframes(slug="acme", item=clip)[0]["url"]):
        status, _ = page.evaluate(STATUS, [live_server.url + url, None])
        assert status == 404, url

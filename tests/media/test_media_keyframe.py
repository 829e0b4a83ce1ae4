"""media:keyframe: the thumbnail of keyframe n of a video, for members; a stranger gets 404."""

import pytest
from django.urls import reverse

from metadata_site.media.selectors import item_keyframes

from .helpers import uploaded, video_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(workspace):
    return uploaded(workspace, video_bytes(gop=10), "clip.mp4")


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_get_each_keyframe_listed_by_the_selector(request, login, video, who):
    client = login(request.getfixturevalue(who))
    keyframes = item_keyframes(slug="acme", item=video)
    assert [k["t"] for k in keyframes] == [0.0, 0.4, 0.8, 1.2, 1.6]
    for k in keyframes:
        response = client.get(k["url"])
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, max-age=31536000, immutable"


def test_a_keyframe_past_the_last_is_404(login, owner, video):
    assert login(owner).get(reverse("media:keyframe", args=["acme", video.uid, 5])).status_code == 404


def test_a_stranger_gets_404(login, stranger, video):
    assert login(stranger).get(reverse("media:keyframe", args=["acme", video.uid, 0])).status_code == 404

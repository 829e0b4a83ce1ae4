"""Find images like an uploaded file: the picture's built-in descriptor is computed in the request (bounded size,
sniffed, bomb-safe), never stored, and becomes the explorer's `similar_to=image:…` with its filters kept; a bad
file goes back to the explorer with its reason; a stranger gets a 404."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.media import lookalike, views
from metadata_site.media.models import Blob
from tests.factories import make_folder

from .helpers import image_bytes, uploaded, video_bytes
from .lookalike_images import edited_copies, jpeg, scene

pytestmark = pytest.mark.django_db

URL = reverse("media:similar-upload", args=["acme"])


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _post(client, data: bytes | None, *, name="query.jpg", state="f=weather:eq:Sunny&similar_to=x&after=9"):
    body = {"state": state}
    if data is not None:
        body["image"] = SimpleUploadedFile(name, data)
    return client.post(URL, body)


def test_the_upload_opens_the_explorer_sorted_by_the_picture_and_stores_nothing(login, member, workspace):
    folder = make_folder(workspace)
    uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    uploaded(workspace, jpeg(scene(3)), "other.jpg", folder=folder)
    items, blobs = Item.objects.count(), Blob.objects.count()
    client = login(member)
    resp = _post(client, edited_copies(scene(0))["resized"], state="")
    assert resp.status_code == 302
    params = parse_qs(urlsplit(resp.url).query)
    assert params["similar_to"][0].startswith(lookalike.IMAGE_PREFIX) and params["k"] == ["50"]
    page = client.get(resp.url)
    assert page.status_code == 200
    titles = [row["item"].title for row in page.context["rows"]]
    assert titles == ["original.jpg", "other.jpg"]
    assert page.context["rows"][0]["item"].distance < page.context["rows"][1]["item"].distance
    assert "similar to the uploaded image" in page.content.decode()
    assert (Item.objects.count(), Blob.objects.count()) == (items, blobs)


def test_the_filters_are_kept_and_the_old_query_dropped(login, member, workspace):
    resp = _post(login(member), image_bytes())
    params = parse_qs(urlsplit(resp.url).query)
    assert params["f"] == ["weather:eq:Sunny"] and "after" not in params
    assert len(params["similar_to"]) == 1 and params["similar_to"][0].startswith("image:")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (None, "x.jpg", views.UPLOAD_MISSING),
        (b"<html><body>hi</body></html>", "x.jpg", "This file cannot be used: an HTML document is not accepted"),
        (b"\xff\xd8\xff\xe0 truncated", "x.jpg", "The image could not be read:"),
    ],
)
def test_a_bad_file_goes_back_with_its_reason(login, member, workspace, data, name, message):
    client = login(member)
    resp = _post(client, data, name=name)
    assert resp.status_code == 302 and "similar_to" not in resp.url and "weather" in resp.url
    page = client.get(resp.url)
    assert message in page.content.decode()


def test_a_video_is_refused(login, member, workspace):
    client = login(member)
    page = client.get(_post(client, video_bytes(seconds=0.5)).url)
    assert views.UPLOAD_VIDEO.format(content_type="video/mp4") in page.content.decode()


def test_a_file_above_the_limit_is_refused_before_it_is_read(monkeypatch, login, member, workspace):
    monkeypatch.setattr(views, "SIMILAR_UPLOAD_MAX_BYTES", 100)
    client = login(member)
    page = client.get(_post(client, image_bytes(200, 200)).url)
    assert "at most 100 bytes" in page.content.decode()


def test_a_decompression_bomb_is_refused(settings, login, member, workspace):
    settings.MEDIA_MAX_IMAGE_PIXELS = 1000
    client = login(member)
    page = client.get(_post(client, image_bytes(100, 100, fmt="PNG")).url)
    assert "more than the limit of 1,000 pixels" in page.content.decode()


def test_a_forged_descriptor_in_the_url_is_a_400(login, member, workspace):
    resp = login(member).get(reverse("explorer:explore", args=["acme"]), {"similar_to": "image:zz.abc"})
    assert resp.status_code == 400


@pytest.mark.parametrize("who, status", [("owner", 302), ("member", 302), ("stranger", 404)])
def test_permissions(request, login, workspace, who, status):
    assert _post(login(request.getfixturevalue(who)), image_bytes()).status_code == status

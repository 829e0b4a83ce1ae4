"""POST /api/w/<slug>/folders/<id>/media: many files at once, a result per file, metadata validated against the
schema; editors only (a viewer gets 403, a stranger 404)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import SkipFile

from metadata_site.accounts.services import api_token_create
from metadata_site.items.models import Item, MediaStatus
from metadata_site.media.models import Blob
from tests.api.conftest import ApiClient, assert_error_shape
from tests.factories import make_folder, make_schema

from .helpers import image_bytes, video_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    return make_folder(workspace, "uploads")


def _post(user, folder, files: list[tuple[str, bytes]], metadata=None, slug="acme"):
    api = ApiClient(api_token_create(user=user, name="t")[1])
    data: dict = {"files": [SimpleUploadedFile(name, content) for name, content in files]}
    if metadata is not None:
        data["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return api.client.post(f"/api/w/{slug}/folders/{folder.pk}/media", data, headers=api.headers)


def test_an_editor_uploads_images_and_a_video_and_gets_a_row_per_file(editor, folder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resp = _post(editor, folder, [("cat.jpg", image_bytes(320, 200)), ("clip.mp4", video_bytes())],
                     metadata={"cat.jpg": {"weather": "Sunny"}})
    assert resp.status_code == 200, resp.content
    assert len(callbacks) == 1  # one worker task for the call's files
    body = resp.json()
    assert (body["created"], body["updated"], body["failed"]) == (2, 0, 0)
    assert [(r["file"], r["status"]) for r in body["results"]] == [("cat.jpg", "created"), ("clip.mp4", "created")]
    cat = Item.objects.get(uid=body["results"][0]["uid"])
    assert (cat.title, cat.kind, cat.client_metadata) == ("cat.jpg", "image", {"weather": "Sunny"})
    assert (cat.media_status, cat.width, cat.height) == (MediaStatus.READY, 320, 200)
    clip = Item.objects.get(uid=body["results"][1]["uid"])
    assert (clip.kind, clip.media_status, clip.frame_count) == ("video", MediaStatus.READY, 50)
    # The item API shows the media properties.
    api = ApiClient(api_token_create(user=editor, name="t2")[1])
    shown = api.get(f"/api/w/acme/items/{cat.uid}").json()["media"]
    assert shown == {"status": "ready", "error": "", "content_type": "image/jpeg", "file_size": cat.file_size,
                     "width": 320, "height": 200, "duration": None, "fps": None, "frame_count": None}


def test_uploading_the_same_name_again_updates_the_item(editor, folder):
    _post(editor, folder, [("cat.jpg", image_bytes(64, 48))])
    resp = _post(editor, folder, [("cat.jpg", image_bytes(64, 48, fmt="PNG"))])
    assert resp.json()["results"][0]["status"] == "updated"
    assert Item.objects.filter(folder=folder).count() == 1


def test_a_bad_file_fails_on_its_own_row_and_the_good_ones_are_stored(editor, folder):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    resp = _post(editor, folder, [("ok.png", image_bytes(fmt="PNG")), ("evil.svg.png", svg),
                                  ("bad.jpg", image_bytes())], metadata={"bad.jpg": {"weather": "Hail"}})
    assert resp.status_code == 200
    rows = resp.json()["results"]
    assert [r["status"] for r in rows] == ["created", "failed", "failed"]
    assert rows[1]["code"] == 415 and "an SVG image is not accepted" in rows[1]["error"]
    assert rows[2]["code"] == 422 and rows[2]["errors"][0]["loc"] == ["metadata", "bad.jpg", "weather"]
    assert list(Item.objects.filter(folder=folder).values_list("title", flat=True)) == ["ok.png"]
    assert Blob.objects.count() == 1  # the refused files stored nothing


def test_when_no_file_is_accepted_the_answer_is_the_error(editor, folder):
    resp = _post(editor, folder, [("page.html", b"<!DOCTYPE html><html></html>")])
    body = assert_error_shape(resp, 415)
    assert "page.html: an HTML document is not accepted" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "files", 0]
    assert not Item.objects.exists()


def test_a_file_over_the_limit_stops_being_read_and_is_a_413_row(editor, folder, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 5000
    big = image_bytes(400, 400, fmt="BMP")
    resp = _post(editor, folder, [("small.jpg", image_bytes(32, 32)), ("big.bmp", big), ("b.jpg", image_bytes())])
    assert resp.status_code == 200, resp.content
    rows = resp.json()["results"]
    assert [(r["index"], r["file"], r["status"]) for r in rows] == [
        (0, "small.jpg", "created"), (1, "big.bmp", "failed"), (2, "b.jpg", "created")]
    assert rows[1]["code"] == 413 and "larger than the limit of 5,000 bytes" in rows[1]["error"]


def test_the_upload_handler_stops_reading_an_oversized_file(rf, settings):
    from metadata_site.media.uploads import MediaSizeLimitUploadHandler, oversize_files

    settings.MEDIA_MAX_UPLOAD_BYTES = 100
    request = rf.post("/api/w/acme/folders/1/media")
    handler = MediaSizeLimitUploadHandler(request)
    handler.new_file("files", "a.jpg", "image/jpeg", 0)
    assert handler.receive_data_chunk(b"x" * 100, 0) == b"x" * 100
    handler.new_file("files", "b.jpg", "image/jpeg", 0)
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x" * 101, 0)
    assert oversize_files(request) == {1: "b.jpg"}
    # Elsewhere (an import upload) it lets everything through.
    other = MediaSizeLimitUploadHandler(rf.post("/api/w/acme/imports/x/upload"))
    other.new_file("file", "rows.json", "application/json", 0)
    assert other.receive_data_chunk(b"x" * 1000, 0) == b"x" * 1000


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("{not json", "must be a JSON object mapping a file name"),
        ('["a"]', "must be a JSON object mapping a file name"),
        ('{"other.jpg": {}}', "'other.jpg', which is not among the files sent"),
        ('{"a.jpg": 3}', "The metadata of 'a.jpg' must be a JSON object"),
    ],
)
def test_malformed_metadata_is_a_422_that_changes_nothing(editor, folder, metadata, message):
    resp = _post(editor, folder, [("a.jpg", image_bytes())], metadata=metadata)
    body = assert_error_shape(resp, 422)
    assert message in body["detail"]
    assert not Item.objects.exists() and not Blob.objects.exists()


def test_no_files_is_a_400(editor, folder):
    assert_error_shape(_post(editor, folder, []), 400)


def test_file_names_never_reach_a_path(editor, folder, media_root):
    resp = _post(editor, folder, [("../../../../tmp/evil.jpg", image_bytes())])
    assert resp.json()["results"][0]["status"] == "created"
    item = Item.objects.get(folder=folder)
    assert item.title == "evil.jpg"
    stored = [p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file()]
    assert all(p.startswith(("originals/", "thumbs/")) and "evil" not in p for p in stored)


def test_a_viewer_gets_403_and_a_stranger_404(viewer, stranger, folder):
    assert_error_shape(_post(viewer, folder, [("a.jpg", image_bytes())]), 403)
    assert_error_shape(_post(stranger, folder, [("a.jpg", image_bytes())]), 404)
    assert not Item.objects.exists()


def test_a_folder_of_another_workspace_is_404(owner, editor, folder):
    from metadata_site.workspaces.models import Role
    from tests.factories import make_workspace

    make_workspace("second", members={editor: Role.EDITOR})
    resp = _post(editor, folder, [("a.jpg", image_bytes())], slug="second")
    assert_error_shape(resp, 404)


def test_more_files_than_one_request_may_carry_is_a_clear_400(editor, folder, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    resp = _post(editor, folder, [(f"{n}.jpg", image_bytes()) for n in range(4)])
    body = assert_error_shape(resp, 400)
    assert body["detail"] == "At most 3 files per request: send them in several requests."
    assert not Item.objects.exists()

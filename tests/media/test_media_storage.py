"""Media goes through Django's STORAGES: the local filesystem by default; any storage without local paths
streams through the same checks (here Django's in-memory storage); an S3-compatible bucket (django-storages) is
served by a redirect to a short-lived presigned URL. No S3 server runs here: the redirect is signed offline, and
the upload into a bucket is not exercised."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from metadata_site.items.models import MediaStatus
from metadata_site.media.models import Blob
from metadata_site.media.storage import hashed_name, save_once
from tests.factories import make_folder, make_item

from .helpers import image_bytes, uploaded, video_bytes

pytestmark = pytest.mark.django_db

S3 = {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {"bucket_name": "media", "endpoint_url": "http://s3.test:9000", "region_name": "us-east-1",
                "access_key": "AKIDEXAMPLE", "secret_key": "secret", "default_acl": None, "querystring_auth": True,
                "querystring_expire": 300, "file_overwrite": False, "signature_version": "s3v4"},
}


@pytest.fixture
def storage(settings, request):
    backend = request.param
    settings.STORAGES = {**settings.STORAGES, "default": backend}
    return backend


@pytest.mark.parametrize("storage", [{"BACKEND": "django.core.files.storage.InMemoryStorage"}], indirect=True)
def test_a_storage_without_local_files_stores_makes_and_streams(storage, workspace, login, owner):
    data = video_bytes()
    item = uploaded(workspace, data, "clip.mp4")
    assert item.media_status == MediaStatus.READY and len(item.media_info["keyframes"]) == 5
    client = login(owner)
    response = client.get(reverse("media:original", args=["acme", item.uid]), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and b"".join(response.streaming_content) == data[10:20]
    thumb = client.get(reverse("items:thumbnail", args=["acme", item.uid]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("storage", [S3], indirect=True)
def test_on_s3_members_are_redirected_to_a_short_lived_presigned_url(storage, settings, workspace, login, owner,
                                                                     stranger):
    settings.MEDIA_PRESIGNED_SECONDS = 120
    sha = "ab" * 32
    blob = Blob.objects.create(sha256=sha, size=10, content_type="video/mp4", storage_name=hashed_name("originals", sha))
    item = make_item(make_folder(workspace), "clip.mp4", kind="video", blob=blob, media_status=MediaStatus.READY,
                     thumbnail_name=hashed_name("thumbs", "cd" * 32, ".webp"))
    response = login(owner).get(reverse("media:original", args=["acme", item.uid]))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = urlsplit(response["Location"])
    assert (url.scheme, url.netloc, url.path) == ("http", "s3.test:9000", f"/media/originals/ab/ab/{sha}")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["120"] and query["X-Amz-Signature"]
    assert query["response-content-type"] == ["video/mp4"]
    thumb = login(owner).get(reverse("items:thumbnail", args=["acme", item.uid]))
    assert thumb.status_code == 302 and "/media/thumbs/cd/cd/" in thumb["Location"]
    assert login(stranger).get(reverse("media:original", args=["acme", item.uid])).status_code == 404


def test_the_default_storage_is_the_filesystem_under_media_root(workspace, media_root):
    item = uploaded(workspace, image_bytes(), "a.jpg")
    assert (media_root / item.blob.storage_name).is_file()
    assert (media_root / item.thumbnail_name).is_file()


def test_media_s3_bucket_in_the_environment_selects_the_bucket():
    import json
    import os
    import subprocess
    import sys

    code = ("import json; from metadata_site import settings as s; "
            "print(json.dumps([s.STORAGES['default']['BACKEND'], s.STORAGES['default'].get('OPTIONS', {})]))")
    env = {**os.environ, "MEDIA_S3_BUCKET": "team-media", "MEDIA_S3_ENDPOINT_URL": "https://minio.example:9000",
           "MEDIA_PRESIGNED_SECONDS": "60"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    backend, options = json.loads(out.stdout)
    assert backend == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"], options["querystring_expire"]) == (
        "team-media", "https://minio.example:9000", 60)
    assert options["default_acl"] is None


class _CutShort(io.BytesIO):
    """Bytes whose reading fails halfway, as a process killed mid-write would leave them."""

    def read(self, size=-1):
        if self.tell():
            raise OSError("killed")
        return super().read(max(1, len(self.getvalue()) // 2))


def test_a_write_cut_short_leaves_no_file_under_the_name(media_root):
    from django.core.files import File

    name = hashed_name("originals", "ef" * 32)
    with pytest.raises(OSError):
        save_once(name, File(_CutShort(b"x" * 10_000), name="x"))
    assert not (media_root / name).exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]  # nor a part file


def test_an_original_cut_by_an_earlier_crash_is_stored_again_whole(workspace, media_root):
    data = image_bytes()
    first = uploaded(workspace, data, "a.jpg")
    path = media_root / first.blob.storage_name
    path.write_bytes(data[:10])  # what a crash mid-write left before writes were atomic
    second = uploaded(workspace, data, "b.jpg")
    assert second.blob_id == first.blob_id and path.read_bytes() == data
    assert second.media_status == MediaStatus.READY

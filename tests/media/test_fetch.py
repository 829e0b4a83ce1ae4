"""media.fetch: the worker fetches a media URL once, and refuses loopback, private, link-local and metadata-service
addresses (also behind a host name and after redirects) unless the host is allowed; timeouts and a size limit.
A real HTTP server on a loopback port stands in for the internet; tests allow its host name explicitly."""

import pytest

from metadata_site.items.models import MediaStatus
from metadata_site.media.fetch import FetchError, fetch, resolve_checked
from metadata_site.media.models import Blob
from metadata_site.media.tasks import make_media
from tests.factories import make_folder, make_item

from .helpers import image_bytes, video_bytes

JPEG = image_bytes(640, 360)


@pytest.fixture
def allowed(settings, media_server):
    settings.MEDIA_FETCH_ALLOWED_HOSTS = ["localhost"]
    media_server.files["a.jpg"] = JPEG
    return media_server


def _refused(url: str) -> str:
    with pytest.raises(FetchError) as exc:
        fetch(url)
    return exc.value.message


def test_an_allowed_host_is_fetched_through_the_checked_address_with_its_own_host_header(allowed):
    with fetch(f"{allowed.url}/file/a.jpg") as f:
        assert f.read() == JPEG
    assert allowed.requests == [("/file/a.jpg", allowed.url.removeprefix("http://"))]


@pytest.mark.parametrize(
    ("host", "what"),
    [
        ("127.0.0.1", "a loopback address"),
        ("[::1]", "a loopback address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("172.16.5.4", "a private address"),
        ("169.254.169.254", "a link-local (cloud metadata) address"),
        ("169.254.10.10", "a link-local address"),
        ("[fe80::1]", "a link-local address"),
        ("[fd00:ec2::254]", "a private address"),
        ("100.100.100.200", "a reserved or shared address"),
        ("0.0.0.0", "an unspecified address"),
    ],
)
def test_internal_addresses_are_refused_before_any_connection(media_server, host, what):
    message = _refused(f"http://{host}:{media_server.server_address[1]}/file/a.jpg")
    assert "which is not fetched" in message and what.split(" ", 1)[1] in message
    assert media_server.requests == []


def test_a_host_name_that_resolves_to_loopback_is_refused_unless_allowed(media_server, settings):
    media_server.files["a.jpg"] = JPEG
    assert "'localhost' resolves to" in _refused(f"{media_server.url}/file/a.jpg")
    assert media_server.requests == []
    settings.MEDIA_FETCH_ALLOWED_HOSTS = ["LOCALHOST."]
    assert resolve_checked("localhost", 80) in ("127.0.0.1", "::1")


def test_a_redirect_to_an_internal_address_is_refused(allowed):
    port = allowed.server_address[1]
    message = _refused(f"{allowed.url}/redirect?to=http://127.0.0.1:{port}/file/a.jpg")
    assert "'127.0.0.1' resolves to 127.0.0.1, a loopback address" in message
    assert [p for p, _ in allowed.requests] == [f"/redirect?to=http://127.0.0.1:{port}/file/a.jpg"]


def test_a_redirect_to_an_allowed_url_is_followed(allowed):
    with fetch(f"{allowed.url}/redirect?to=/file/a.jpg") as f:
        assert f.read() == JPEG


def test_redirect_loops_end(allowed):
    assert _refused(f"{allowed.url}/loop") == "more than 5 redirects"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.jpg", "gopher://x/", "http:///nohost"])
def test_other_schemes_and_hostless_urls_are_refused(url):
    message = _refused(url)
    assert "only http and https" in message or "no host" in message


def test_an_error_status_is_the_reason(allowed):
    assert _refused(f"{allowed.url}/status/404") == "the server answered 404 Not Found"


def test_a_file_over_the_limit_is_refused_by_its_length_or_while_reading(allowed, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    assert "larger than the limit of 1,000 bytes" in _refused(f"{allowed.url}/file/a.jpg")
    assert "larger than the limit of 1,000 bytes" in _refused(f"{allowed.url}/chunked/a.jpg")


def test_a_slow_server_times_out(allowed, settings):
    settings.MEDIA_FETCH_TIMEOUT = 1
    assert _refused(f"{allowed.url}/slow") == "the download took longer than 1 seconds"


def test_an_unknown_host_is_the_reason():
    assert "could not be resolved" in _refused("http://no-such-host.invalid/a.jpg")


@pytest.mark.django_db
def test_the_worker_reads_a_url_item_once_and_leaves_the_original_where_it_is(allowed, settings, workspace):
    settings.MEDIA_FETCH_URLS = True
    allowed.files["clip.mp4"] = video_bytes()
    folder = make_folder(workspace)
    photo = make_item(folder, "a.jpg", media_url=f"{allowed.url}/file/a.jpg", media_status=MediaStatus.PENDING)
    clip = make_item(folder, "clip.mp4", kind="video", media_url=f"{allowed.url}/file/clip.mp4")
    internal = make_item(folder, "meta", media_url="http://169.254.169.254/latest/meta-data/")
    blobs = Blob.objects.count()  # a row another test's worker process committed late is not this test's
    make_media.call([photo.pk, clip.pk, internal.pk])
    for item in (photo, clip, internal):
        item.refresh_from_db()
    assert (photo.media_status, photo.width, photo.height, photo.content_type) == ("ready", 640, 360, "image/jpeg")
    assert photo.file_size == len(JPEG) and photo.thumbnail_name
    assert (clip.media_status, clip.frame_count, clip.content_type) == ("ready", 50, "video/mp4")
    assert internal.media_status == "error"
    assert internal.media_error.startswith("cannot read this file: the host '169.254.169.254' resolves to")
    assert Blob.objects.count() == blobs  # originals stay at their URL: no blob is stored
    assert photo.blob_id is None and clip.blob_id is None and internal.blob_id is None
    assert sorted(p for p, _ in allowed.requests) == ["/file/a.jpg", "/file/clip.mp4"]


@pytest.mark.django_db
def test_a_url_serving_html_is_an_error_whatever_its_name(allowed, settings, workspace):
    settings.MEDIA_FETCH_URLS = True
    allowed.files["x.jpg"] = b"<!DOCTYPE html><html><body>not a picture</body></html>"
    item = make_item(make_folder(workspace), "x.jpg", media_url=f"{allowed.url}/file/x.jpg")
    make_media.call([item.pk])
    item.refresh_from_db()
    assert item.media_error == ("cannot read this file: an HTML document is not accepted (accepted: JPEG, PNG, WebP, "
                                "GIF, BMP, TIFF images and MP4, WebM, MOV videos)")


@pytest.mark.django_db
def test_with_fetching_off_url_items_are_left_alone(allowed, settings, workspace):
    settings.MEDIA_FETCH_URLS = False
    item = make_item(make_folder(workspace), "a.jpg", media_url=f"{allowed.url}/file/a.jpg")
    make_media.call([item.pk])
    item.refresh_from_db()
    assert item.media_status == "none" and allowed.requests == []


@pytest.mark.django_db
def test_items_created_in_bulk_with_a_url_are_queued_for_the_worker(allowed, settings, workspace,
                                                                     django_capture_on_commit_callbacks):
    from metadata_site.items.models import Item
    from metadata_site.items.services import NewItem, items_create_bulk

    settings.MEDIA_FETCH_URLS = True
    folder = make_folder(workspace)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pks = items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[
            NewItem("a.jpg", "image", f"{allowed.url}/file/a.jpg", {}), NewItem("plain", "image", "", {})])
    assert len(callbacks) == 1
    a, plain = Item.objects.get(pk=pks[0]), Item.objects.get(pk=pks[1])
    assert (a.media_status, a.width) == ("ready", 640)
    assert (plain.media_status, plain.width) == ("none", None)

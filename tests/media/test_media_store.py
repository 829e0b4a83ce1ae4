"""media.services.media_store: the type comes from the bytes, the limits are enforced before anything is
stored, and the same bytes are stored once under a name made from their hash."""

import hashlib
import io

import pytest

from metadata_site.media.models import Blob
from metadata_site.media.services import MediaRefused, media_store
from metadata_site.media.storage import media_storage

from .helpers import image_bytes, video_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (image_bytes(fmt="JPEG"), "image/jpeg"),
        (image_bytes(fmt="PNG"), "image/png"),
        (image_bytes(fmt="WEBP"), "image/webp"),
        (image_bytes(fmt="GIF"), "image/gif"),
        (image_bytes(fmt="BMP"), "image/bmp"),
        (image_bytes(fmt="TIFF"), "image/tiff"),
        (video_bytes(), "video/mp4"),
        (video_bytes(fmt="mov"), "video/quicktime"),
        (video_bytes(fmt="webm", codec="libvpx-vp9"), "video/webm"),
    ],
)
def test_each_accepted_type_is_sniffed_from_the_bytes_whatever_the_name_says(data, content_type):
    blob = media_store(data=data, filename="misleading.html")
    assert blob.content_type == content_type
    assert blob.size == len(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "an SVG image is not accepted"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG image is not accepted"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "an HTML document is not accepted"),
        (b"%PDF-1.7\n", "a PDF document is not accepted"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "a HEIC image is not accepted"),
        (b"just some text", "not an accepted image or video"),
        (b"", "the file is empty"),
    ],
)
def test_anything_else_is_refused_with_what_it_is_and_nothing_is_stored(data, message):
    with pytest.raises(MediaRefused) as exc:
        media_store(data=data, filename="photo.jpg")
    assert message in exc.value.message
    assert Blob.objects.count() == 0


def test_the_same_bytes_are_stored_once_under_their_hash():
    data = image_bytes()
    first = media_store(data=data, filename="a.jpg")
    second = media_store(data=io.BytesIO(data), filename="../../etc/b.jpg")
    assert first.pk == second.pk
    sha = hashlib.sha256(data).hexdigest()
    assert first.sha256 == sha
    assert first.storage_name == f"originals/{sha[:2]}/{sha[2:4]}/{sha}"
    with media_storage().open(first.storage_name, "rb") as f:
        assert f.read() == data


def test_a_file_over_the_upload_limit_is_refused_before_it_is_stored(settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    data = image_bytes(200, 200, fmt="BMP")
    assert len(data) > 1000
    with pytest.raises(MediaRefused, match="larger than the limit of 1,000 bytes"):
        media_store(data=io.BytesIO(data), filename="big.bmp")
    assert Blob.objects.count() == 0


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels, with one tiny compressed row behind it (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (9000, 8000)])
def test_an_image_whose_header_claims_too_many_pixels_is_refused_before_decoding(width, height):
    # 10^10 pixels is past Pillow's own guard (twice the limit); 7.2e7 is past the project's limit only.
    with pytest.raises(MediaRefused, match="more than the limit of 64,000,000 pixels"):
        media_store(data=_png_header(width, height), filename="bomb.png")
    assert Blob.objects.count() == 0


def test_a_non_seekable_stream_is_spooled_and_stored():
    data = video_bytes()

    class Pipe:
        def __init__(self):
            self.buf = io.BytesIO(data)

        def read(self, n=-1):
            return self.buf.read(n)

    blob = media_store(data=Pipe(), filename="clip.mp4")
    assert blob.content_type == "video/mp4"
    with media_storage().open(blob.storage_name, "rb") as f:
        assert f.read() == data

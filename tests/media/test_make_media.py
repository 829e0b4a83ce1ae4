"""media.tasks.make_media, the worker: properties and thumbnails from the real bytes, every kind of image and
video, and a file it cannot read leaves the item in place with the reason."""

import io

import pytest
from PIL import Image

from metadata_site.items.models import Item, ItemKind, MediaStatus
from metadata_site.media.models import Blob
from metadata_site.media.services import item_attach_media, media_store
from metadata_site.media.storage import hashed_name, media_storage
from metadata_site.media.tasks import make_media
from tests.factories import make_folder, make_item

from .helpers import image_bytes, uploaded, video_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "uploads")


def _made(workspace, folder, data: bytes, title: str = "f") -> Item:
    return uploaded(workspace, data, title, folder=folder)


def _thumbnail(item: Item) -> Image.Image:
    with media_storage().open(item.thumbnail_name, "rb") as f:
        im = Image.open(io.BytesIO(f.read()))
        im.load()
    return im


def test_a_large_jpeg_gets_its_size_and_a_thumbnail_of_at_most_320_pixels(workspace, folder):
    item = _made(workspace, folder, image_bytes(1920, 1080, quality=90))
    assert (item.media_status, item.width, item.height, item.media_error) == (MediaStatus.READY, 1920, 1080, "")
    thumb = _thumbnail(item)
    assert thumb.format == "JPEG" and thumb.size == (320, 180)
    r, g, b = thumb.convert("RGB").getpixel((10, 90))
    assert r > 200 and b < 60  # the red left half


def test_exif_orientation_is_applied_to_the_size_and_the_thumbnail(workspace, folder):
    # Stored 640x480 with "rotate 90° clockwise to display" (orientation 6): shown 480x640, red half on top.
    item = _made(workspace, folder, image_bytes(640, 480, exif_orientation=6))
    assert (item.width, item.height) == (480, 640)
    thumb = _thumbnail(item).convert("RGB")
    assert thumb.size == (240, 320)
    top, bottom = thumb.getpixel((120, 20)), thumb.getpixel((120, 300))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


@pytest.mark.parametrize(
    ("data", "alpha"),
    [
        (image_bytes(400, 300, fmt="PNG", mode="I;16", color=4000), False),  # 16-bit greyscale (12-bit range)
        (image_bytes(400, 300, fmt="TIFF", mode="CMYK"), False),
        (image_bytes(400, 300, fmt="JPEG", mode="CMYK"), False),
        (image_bytes(400, 300, fmt="PNG", mode="L"), False),
        (image_bytes(400, 300, fmt="PNG", mode="RGBA", color=(0, 255, 0, 100)), True),
        (image_bytes(400, 300, fmt="GIF", mode="P"), False),
        (image_bytes(400, 300, fmt="BMP"), False),
        (image_bytes(400, 300, fmt="WEBP"), False),
    ],
)
def test_every_image_mode_gets_a_thumbnail(workspace, folder, data, alpha):
    item = _made(workspace, folder, data)
    assert (item.media_status, item.width, item.height) == (MediaStatus.READY, 400, 300), item.media_error
    thumb = _thumbnail(item)
    assert thumb.size == (320, 240)
    # Transparency is kept (WebP); opaque images get a JPEG.
    assert (thumb.format, thumb.mode == "RGBA") == (("WEBP", True) if alpha else ("JPEG", False))
    assert item.thumbnail_name.endswith(".webp" if alpha else ".jpg")


def test_a_video_gets_its_properties_a_poster_and_a_thumbnail_per_keyframe(workspace, folder):
    item = _made(workspace, folder, video_bytes(seconds=2, fps=25, size=(64, 48), gop=10), title="clip.mp4")
    assert item.kind == ItemKind.VIDEO
    assert (item.media_status, item.width, item.height) == (MediaStatus.READY, 64, 48), item.media_error
    assert item.duration == pytest.approx(2.0, abs=0.05)
    assert item.fps == pytest.approx(25.0)
    assert item.frame_count == 50
    keyframes = item.media_info["keyframes"]
    assert [k["frame"] for k in keyframes] == [0, 10, 20, 30, 40]
    assert [k["t"] for k in keyframes] == [0.0, 0.4, 0.8, 1.2, 1.6]
    assert item.thumbnail_name == keyframes[0]["thumb"]
    # Frame 20 is a flat grey of level 200.
    with media_storage().open(keyframes[2]["thumb"], "rb") as f:
        level = Image.open(f).convert("L").getpixel((32, 24))
    assert abs(level - 200) < 12


def test_a_webm_video_is_read_too(workspace, folder):
    item = _made(workspace, folder, video_bytes(fmt="webm", codec="libvpx-vp9", gop=25), title="clip.webm")
    assert (item.media_status, item.content_type, item.width) == (MediaStatus.READY, "video/webm", 64)
    assert len(item.media_info["keyframes"]) >= 1


def test_a_file_that_cannot_be_decoded_leaves_the_item_with_the_reason(workspace, folder):
    # A JPEG signature followed by garbage passes the sniffing, then fails to decode in the worker.
    broken = image_bytes(64, 48)[:200] + b"\x00" * 50
    other = make_item(folder, "untouched.jpg")
    item = _made(workspace, folder, broken, title="broken.jpg")
    assert item.media_status == MediaStatus.ERROR
    assert item.media_error.startswith("cannot read this file: ")
    assert (item.thumbnail_name, item.width) == ("", None)
    assert Item.objects.filter(pk=other.pk).exists() and Item.objects.count() == 2


def test_a_truncated_video_is_an_error_not_a_crash(workspace, folder):
    data = video_bytes()
    item = _made(workspace, folder, data[:64], title="cut.mp4")
    assert item.media_status == MediaStatus.ERROR and item.media_error.startswith("cannot read this file: ")


def test_a_missing_original_is_an_error(workspace, folder):
    blob = Blob.objects.create(sha256="0" * 64, size=10, content_type="image/png",
                               storage_name=hashed_name("originals", "0" * 64))
    item = item_attach_media(workspace=workspace, folder=folder, title="gone.png", blob=blob)
    make_media.call([item.pk])
    item.refresh_from_db()
    assert item.media_error == "cannot read this file: the stored original is missing"


def test_an_image_group_takes_its_first_frames_thumbnail(workspace, folder):
    group = make_item(folder, "group", kind=ItemKind.IMAGE_GROUP)
    frames = []
    for i, color in enumerate([(255, 0, 0), (0, 255, 0)]):
        blob = media_store(data=image_bytes(32, 32, color=color), filename=f"f{i}")
        frames.append(make_item(folder, f"f{i}", kind=ItemKind.FRAME, parent=group, frame_index=i, blob=blob,
                                media_status=MediaStatus.PENDING))
    make_media.call([frames[1].pk, frames[0].pk])
    group.refresh_from_db()
    frames[0].refresh_from_db()
    assert group.thumbnail_name == frames[0].thumbnail_name != ""

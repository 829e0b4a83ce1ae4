"""Real media made for tests: images with Pillow, videos encoded with PyAV."""

import io

from PIL import Image


def image_bytes(width: int = 64, height: int = 48, *, fmt: str = "JPEG", mode: str = "RGB", color=None,
                exif_orientation: int | None = None, **save) -> bytes:
    """An image whose left half is red and right half blue (so orientation and pixels can be checked)."""
    if color is None:
        im = Image.new("RGB", (width, height), (255, 0, 0))
        im.paste((0, 0, 255), (width // 2, 0, width, height))
        if mode != "RGB":
            im = im.convert(mode)
    else:
        im = Image.new(mode, (width, height), color)
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        save["exif"] = exif
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def video_bytes(*, seconds: float = 2.0, fps: int = 25, size: tuple[int, int] = (64, 48), gop: int = 10,
                fmt: str = "mp4", codec: str = "libx264") -> bytes:
    """An H.264 MP4 (or a VP9 WebM with fmt="webm", codec="libvpx-vp9") with a keyframe every `gop` frames;
    frame i is a flat grey of level 10 * i % 256."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {"keyint_min": str(gop), "sc_threshold": "0", "bf": "0"}
        for i in range(int(seconds * fps)):
            level = 10 * i % 256
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (level, level, level)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def uploaded(workspace, data: bytes, title: str, *, folder=None, make: bool = True):
    """An item made from `data` the way an upload makes it (stored, attached) and, with `make`, read by the
    worker; returned fresh from the database."""
    from metadata_site.media.services import item_attach_media, media_store
    from metadata_site.media.tasks import make_media
    from tests.factories import make_folder

    blob = media_store(data=data, filename=title)
    item = item_attach_media(workspace=workspace, folder=folder or make_folder(workspace), title=title, blob=blob)
    if make:
        make_media.call([item.pk])
    item.refresh_from_db()
    return item

"""Reading media for real, in the worker only: properties and thumbnails from the decoded pixels.

Images with Pillow (a pixel count checked from the header before any decoding, JPEG draft decoding, EXIF
orientation, 16-bit, greyscale, CMYK, palette and alpha), videos with PyAV (a poster plus one frame per keyframe,
decoding keyframes only). Anything that cannot be read raises `Unreadable` with the reason.
"""

import io
import warnings
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from metadata_site.lib.errors import MessageError

from .descriptor import describe

THUMBNAIL_SIZE = 320  # longest side, in pixels
# JPEG for opaque thumbnails (encoding a 320 px WebP took ten times as long), WebP where there is transparency.
THUMBNAIL_TYPES = {".jpg": "image/jpeg", ".webp": "image/webp"}
MAX_KEYFRAMES = 100  # more are thinned out to at most this many, evenly spread over the video
VIDEO_CODECS = {"h264": "H.264", "vp8": "VP8", "vp9": "VP9", "av1": "AV1"}

TOO_MANY_PIXELS = "the image is {width}×{height} pixels, more than the limit of {limit:,} pixels"
TOO_MANY_PIXELS_PILLOW = "the image has more than the limit of {limit:,} pixels ({detail})"
NO_VIDEO_STREAM = "the file has no video stream"
VIDEO_CODEC_UNSUPPORTED = "the video codec {codec!r} is not supported (use " + ", ".join(VIDEO_CODECS.values()) + ")"
NO_KEYFRAME = "no frame of the video could be decoded"

# EXIF orientation → the transpose that shows the image upright (as ImageOps.exif_transpose does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Unreadable(MessageError):
    """The file cannot be read; `message` is the reason shown as "cannot read this file: <reason>"."""


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    suffix: str  # a key of THUMBNAIL_TYPES


@dataclass
class Keyframe:
    t: float  # seconds from the start
    frame: int  # frame number (from the timestamp and the frame rate)
    thumbnail: Thumbnail


@dataclass
class MediaProperties:
    width: int
    height: int
    thumbnail: Thumbnail
    duration: float | None = None
    fps: float | None = None
    frame_count: int | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    # The built-in visual descriptor (see descriptor.py), of images only.
    phash: int | None = None
    colour: bytes | None = None


def check_pixels(width: int, height: int) -> None:
    """Refuse an image whose header claims more pixels than MEDIA_MAX_IMAGE_PIXELS (a decompression bomb)."""
    limit = settings.MEDIA_MAX_IMAGE_PIXELS
    if width * height > limit:
        raise Unreadable(TOO_MANY_PIXELS.format(width=width, height=height, limit=limit))


def open_image(fileobj: BinaryIO) -> Image.Image:
    """Open an image lazily (its header only) and check its pixel count; nothing is decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fileobj)
    except Image.DecompressionBombError as exc:
        raise Unreadable(TOO_MANY_PIXELS_PILLOW.format(limit=settings.MEDIA_MAX_IMAGE_PIXELS, detail=exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Unreadable(str(exc) or type(exc).__name__) from None
    check_pixels(*im.size)
    return im


def _to_display_mode(im: Image.Image) -> Image.Image:
    """8-bit RGB, or RGBA when the image has transparency."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit and 32-bit greyscale: stretch the values present to 0..255 (12-bit data would look black
        # if divided by 256).
        im = im.convert("F") if im.mode != "F" else im
        low, high = im.getextrema()
        scale = 255.0 / (high - low) if high > low else 0.0
        return im.point(lambda v: (v - low) * scale).convert("L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        return im.convert("RGBA")
    if im.mode == "RGB":
        return im
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV, I;16 handled above


def encode_thumbnail(im: Image.Image) -> Thumbnail:
    im = _to_display_mode(im)
    if max(im.size) > THUMBNAIL_SIZE:
        im.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    if im.mode == "RGBA":
        im.save(buf, format="WEBP", quality=80, method=0)
        return Thumbnail(buf.getvalue(), ".webp")
    im.save(buf, format="JPEG", quality=82)
    return Thumbnail(buf.getvalue(), ".jpg")


def thumbnail_content_type(name: str) -> str:
    """The content type of a stored thumbnail, from the suffix the worker gave its name."""
    return THUMBNAIL_TYPES.get(name[name.rfind("."):], "application/octet-stream")


def read_image(fileobj: BinaryIO) -> MediaProperties:
    """Width and height as shown (EXIF orientation applied) and a thumbnail of an image's first frame."""
    im = open_image(fileobj)
    try:
        width, height = im.size
        try:
            orientation = im.getexif().get(0x0112)
        except Exception:  # a broken EXIF block is ignored, as browsers do
            orientation = None
        transpose = _ORIENTATION.get(orientation)
        if im.format == "JPEG":
            # Decode at 1/2 .. 1/8 scale straight away: still at least the thumbnail's size.
            scale = THUMBNAIL_SIZE / max(width, height)
            im.draft("RGB" if im.mode in ("RGB", "YCbCr") else im.mode,
                     (max(1, int(width * scale)), max(1, int(height * scale))))
        im.load()
        if max(im.size) > THUMBNAIL_SIZE:
            im.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if transpose is not None:
            im = im.transpose(transpose)
            if transpose in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
                             Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270):
                width, height = height, width
        im = _to_display_mode(im)
        thumbnail = encode_thumbnail(im)
        phash, colour = describe(im)  # from the thumbnail-sized pixels already decoded
    except Unreadable:
        raise
    except Image.DecompressionBombError as exc:
        raise Unreadable(TOO_MANY_PIXELS_PILLOW.format(limit=settings.MEDIA_MAX_IMAGE_PIXELS, detail=exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise Unreadable(str(exc) or type(exc).__name__) from None
    finally:
        im.close()
    return MediaProperties(width=width, height=height, thumbnail=thumbnail, phash=phash, colour=colour)


def _video_thumbnail(frame) -> Thumbnail:
    """Scaled by FFmpeg's swscale straight from the decoded YUV frame (a full-size RGB copy costs more)."""
    scale = min(1.0, THUMBNAIL_SIZE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    return encode_thumbnail(frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image())


def read_video(fileobj: BinaryIO) -> MediaProperties:
    """Width, height, duration, frame rate, frame count, a poster (the first keyframe) and one thumbnail per
    keyframe (at most MAX_KEYFRAMES, evenly spread), decoding keyframe packets only."""
    import av  # imported here: only the worker needs it

    try:
        container = av.open(fileobj, mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise Unreadable(str(exc)) from None
    try:
        if not container.streams.video:
            raise Unreadable(NO_VIDEO_STREAM)
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.name not in VIDEO_CODECS:
            raise Unreadable(VIDEO_CODEC_UNSUPPORTED.format(codec=ctx.name))
        width, height = ctx.width, ctx.height
        check_pixels(width, height)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = None
        frame_count = stream.frames or (round(duration * fps) if duration and fps else None)
        spacing = duration / MAX_KEYFRAMES if duration else 0.0
        ctx.skip_frame = "NONKEY"
        keyframes: list[Keyframe] = []
        start = stream.start_time or 0
        next_t = 0.0
        for packet in container.demux(stream):
            if not packet.is_keyframe or packet.pts is None:
                continue
            t = float((packet.pts - start) * stream.time_base)
            if keyframes and t < next_t:
                continue
            for frame in ctx.decode(packet):
                keyframes.append(Keyframe(t=round(t, 3), frame=round(t * fps) if fps else len(keyframes),
                                          thumbnail=_video_thumbnail(frame)))
                next_t = t + spacing
                break
        if not keyframes:
            for frame in ctx.decode(None):  # a decoder that buffers: flush it
                keyframes.append(Keyframe(t=0.0, frame=0, thumbnail=_video_thumbnail(frame)))
                break
        if not keyframes:
            raise Unreadable(NO_KEYFRAME)
    except Unreadable:
        raise
    except (av.FFmpegError, OSError, ValueError, MemoryError) as exc:
        raise Unreadable(str(exc)) from None
    finally:
        container.close()
    return MediaProperties(
        width=width, height=height, thumbnail=keyframes[0].thumbnail, duration=duration, fps=fps,
        frame_count=frame_count, keyframes=keyframes,
    )

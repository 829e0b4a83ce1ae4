"""What a file is, from its first bytes (magic numbers), never from its name or what a client says.

Only the accepted images (JPEG, PNG, WebP, GIF, BMP, TIFF) and videos (MP4, WebM, QuickTime) pass; the worker then
decodes them for real and marks an item it cannot read with the reason.
"""

import struct

from metadata_site.lib.errors import MessageError

HEAD_BYTES = 4096  # how much of a file `sniff` needs

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"
BMP = "image/bmp"
TIFF = "image/tiff"
MP4 = "video/mp4"
WEBM = "video/webm"
MOV = "video/quicktime"

IMAGE_TYPES = (JPEG, PNG, WEBP, GIF, BMP, TIFF)
VIDEO_TYPES = (MP4, WEBM, MOV)
ACCEPTED = IMAGE_TYPES + VIDEO_TYPES
ACCEPTED_TEXT = "JPEG, PNG, WebP, GIF, BMP, TIFF images and MP4, WebM, MOV videos"

NOT_ACCEPTED = "not an accepted image or video (accepted: " + ACCEPTED_TEXT + ")"
NOT_ACCEPTED_KNOWN = "{what} is not accepted (accepted: " + ACCEPTED_TEXT + ")"
EMPTY = "the file is empty"

# ISO base media brands (bytes 8-12 of an `ftyp` box) of MP4 video; "qt  " is QuickTime. Still-image brands
# (HEIC, AVIF) and anything else are refused.
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mp71", b"f4v ", b"MSNV", b"XAVC",
}
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


class NotAccepted(MessageError):
    """The bytes are not an accepted image or video; `message` says what they are when that is known."""


def _markup(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:1024] or text.startswith(b"<?xml") and b"svg" in text[:1024]:
        return "an SVG image"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML document"
    if text.startswith(b"<?xml"):
        return "an XML document"
    if text.startswith(b"%pdf"):
        return "a PDF document"
    return None


def sniff(head: bytes) -> str:
    """The content type of a file whose first bytes (at least HEAD_BYTES, or the whole file) are `head`.

    Raises NotAccepted for anything else.
    """
    if not head:
        raise NotAccepted(EMPTY)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_HEADER_SIZES:
        return BMP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return MOV
        if brand in _MP4_BRANDS:
            return MP4
        if brand in _IMAGE_BRANDS:
            raise NotAccepted(NOT_ACCEPTED_KNOWN.format(what=f"a {brand.decode().strip().upper()} image"))
        raise NotAccepted(NOT_ACCEPTED_KNOWN.format(what=f"an ISO media file of brand {brand!r}"))
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: Matroska or WebM; the DocType element (0x4282) names which.
        if b"\x42\x82\x84webm" in head[:128]:
            return WEBM
        raise NotAccepted(NOT_ACCEPTED_KNOWN.format(what="a Matroska (MKV) file"))
    what = _markup(head)
    if what:
        raise NotAccepted(NOT_ACCEPTED_KNOWN.format(what=what))
    raise NotAccepted(NOT_ACCEPTED)


def kind_of(content_type: str) -> str:
    """The item kind ("image" or "video") of an accepted content type."""
    return "video" if content_type in VIDEO_TYPES else "image"

"""Streaming stored media to a member who passed the permission check: ETag and If-None-Match, one HTTP Range
(206; 416 for a range outside the file or a malformed one), `X-Content-Type-Options: nosniff`, and never the
whole file in memory. On a storage that cannot stream from a local path but can sign URLs (an S3-compatible
bucket), a redirect to a short-lived presigned URL instead."""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import quote_etag

from .storage import media_storage

BLOCK = 256 * 1024
IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "private, no-cache"

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")

RANGE_MALFORMED = "Malformed Range header {value!r}: expected bytes=<first>-<last>, bytes=<first>- or bytes=-<length>."
RANGE_UNSATISFIABLE = "The range {value!r} is outside the file of {size} bytes."


def _stream(fileobj, start: int, length: int):
    try:
        fileobj.seek(start)
        left = length
        while left > 0:
            chunk = fileobj.read(min(BLOCK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        fileobj.close()


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single-range `Range` header; None for several ranges (served whole, as the
    standard allows). Raises ValueError with the message for a malformed or unsatisfiable range."""
    value = value.strip()
    if "," in value and value.startswith("bytes="):
        return None
    m = _RANGE_RE.match(value)
    if not m or (not m.group(1) and not m.group(2)):
        raise ValueError(RANGE_MALFORMED.format(value=value[:100]))
    first, last = m.group(1), m.group(2)
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise ValueError(RANGE_UNSATISFIABLE.format(value=value, size=size))
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        raise ValueError(RANGE_MALFORMED.format(value=value[:100]))
    if start >= size:
        raise ValueError(RANGE_UNSATISFIABLE.format(value=value, size=size))
    return start, min(end, size - 1)


def _presigned_redirect(name: str, content_type: str) -> HttpResponse | None:
    """A redirect to a short-lived presigned URL of `name` on a storage that signs URLs (S3-compatible); None
    where the file is streamed from here (a local file, or a storage that cannot sign)."""
    storage = media_storage()
    try:
        storage.path(name)
        return None  # a local file: stream it
    except NotImplementedError:
        pass
    try:
        url = storage.url(name, parameters={"ResponseContentType": content_type},
                          expire=settings.MEDIA_PRESIGNED_SECONDS)
    except TypeError:  # a storage without presigned URLs (e.g. in memory): stream it
        return None
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def serve_stored(
    request: HttpRequest, *, name: str, content_type: str, etag: str, immutable: bool = False
) -> HttpResponse:
    """Serve the stored file `name` (already permission-checked) as `content_type`."""
    redirect = _presigned_redirect(name, content_type)
    if redirect is not None:
        return redirect
    etag = quote_etag(etag)
    cache = IMMUTABLE if immutable else REVALIDATE
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        response["Cache-Control"] = cache
        return response
    storage = media_storage()
    try:
        size = storage.size(name)
        fileobj = storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        return HttpResponse("The stored file is missing.", status=404, content_type="text/plain")
    start, length, status = 0, size, 200
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if range_header and (not if_range or if_range.strip() == etag):
        try:
            span = parse_range(range_header, size)
        except ValueError as exc:
            fileobj.close()
            response = HttpResponse(str(exc), status=416, content_type="text/plain")
            response["Content-Range"] = f"bytes */{size}"
            return response
        if span is not None:
            start, length, status = span[0], span[1] - span[0] + 1, 206
    response = StreamingHttpResponse(_stream(fileobj, start, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response

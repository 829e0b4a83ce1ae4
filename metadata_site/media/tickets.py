"""Session-bound thumbnail tickets: serving a grid's thumbnails without a database query.

A page that has checked the viewer's membership (the explorer grid, a folder, a collection, the item page) adds to
each stored thumbnail's URL a ticket: an HMAC (keyed by ``SECRET_KEY``) of the viewer's session key, the workspace,
the item, the thumbnail's content-addressed file name and the hour it was minted. The thumbnail and keyframe views
serve a request whose ticket matches the request's *own* session cookie straight from storage: no session, user or
item query (a grid of 50 thumbnails is 50 such requests). Every other request — no ticket, a ticket minted for
another session (a stranger who was sent the URL), an expired or altered one — goes through the full membership
check as before, so a stranger still gets 404 and a signed-out browser the login page.

What a ticket allows is what an S3 presigned URL allows, bound to one session and a short time: a thumbnail the
session was shown while it was a member stays readable by that session for at most ``MEDIA_TICKET_SECONDS`` × 2
(default one hour, so at most two) after its membership is withdrawn. Originals are never ticketed.
"""

import re
import time

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from .storage import THUMBNAILS, hashed_name

SALT = "metadata_site.media.tickets"
_NAME_RE = re.compile(r"^[0-9a-f]{64}\.(?:jpg|webp)$")
_TICKET_RE = re.compile(r"^(\d{1,12})\.([0-9a-f]{32})$")


def _period(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // settings.MEDIA_TICKET_SECONDS)


def _signature(session_key: str, slug: str, uid: str, file_name: str, period: int) -> str:
    message = f"{session_key}|{slug}|{uid}|{file_name}|{period}"
    return salted_hmac(SALT, message, algorithm="sha256").hexdigest()[:32]


def mint(request: HttpRequest | None, *, slug: str, uid, name: str) -> str:
    """The query string (``n=…&t=…``, without a leading ``&``) that lets this request's session read the stored
    thumbnail `name` of item `uid` without a database query; "" when there is no session to bind it to."""
    session = getattr(request, "session", None) if request is not None else None
    session_key = getattr(session, "session_key", None)
    if not session_key or not name:
        return ""
    file_name = name.rsplit("/", 1)[-1]
    period = _period()
    return f"n={file_name}&t={period}.{_signature(session_key, slug, str(uid), file_name, period)}"


def redeem(request: HttpRequest, *, slug: str, uid) -> str | None:
    """The storage name of the thumbnail a valid ticket of this request names, or None (then check membership).

    Reads only the request: its session cookie (not the session itself), ``n`` and ``t``."""
    file_name, ticket = request.GET.get("n", ""), request.GET.get("t", "")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not (file_name and ticket and session_key) or len(session_key) > 64:
        return None
    match = _TICKET_RE.match(ticket)
    if match is None or not _NAME_RE.match(file_name):
        return None
    period, now = int(match.group(1)), _period()
    if period not in (now, now - 1):
        return None
    if not constant_time_compare(match.group(2), _signature(session_key, slug, str(uid), file_name, period)):
        return None
    sha256, dot, suffix = file_name.partition(".")
    return hashed_name(THUMBNAILS, sha256, dot + suffix)

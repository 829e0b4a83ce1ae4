"""The one codec for paging cursors: a JSON value, compact, in URL-safe base64 without padding.

Every paged list (the API's list endpoints, the Encord-compatible ``pageToken``, the explorer's ``after``) turns
its position into an opaque string with `encode` and back with `decode`. `decode` refuses anything that is not a
cursor this codec wrote (too long, not strict base64, not JSON, NaN or Infinity, nested too deep) with one
error, `CursorError`; the caller then checks the value's shape for its own list (e.g. "a list of a sort value and
an id") and answers in its own format (an API error, a 400 naming the parameter).
"""

import base64
import binascii
import json
from typing import Any

from .errors import MessageError

# A cursor holds a sort value and an id; 8,192 characters leaves room for long text sort values and still fits
# a URL. Longer input is refused before it is decoded.
MAX_CURSOR_LENGTH = 8192

CURSOR_INVALID = "The cursor is invalid or expired; start again from the first page."


class CursorError(MessageError):
    """Not a cursor this codec wrote; `message` says so (the same words whatever went wrong inside)."""

    def __init__(self, message: str = CURSOR_INVALID) -> None:
        super().__init__(message)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def encode(value: Any) -> str:
    """The cursor of a JSON-serialisable `value` (ASCII, URL-safe, no padding)."""
    raw = json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(cursor: str) -> Any:
    """The value `encode` turned into `cursor`. Raises CursorError for anything else."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise CursorError()
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise CursorError() from None

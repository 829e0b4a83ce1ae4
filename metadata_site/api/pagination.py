"""Cursor pagination for list endpoints: ``{"count", "results", "next"}``.

Lists in primary-key order page by keyset (``id > last``), so page 10,000 costs the same as page 1.
Lists sorted by something else page by offset. The cursor is opaque to clients either way.
"""

import base64
import json
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest

from .errors import ApiError

INVALID_CURSOR = "The cursor is invalid or expired; start again from the first page."
MAX_LIMIT = 1000


def _encode(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise ApiError(400, INVALID_CURSOR, [{"loc": ["query", "cursor"], "msg": INVALID_CURSOR}]) from None
    if not isinstance(data, dict) or not all(isinstance(v, int) and v >= 0 for v in data.values()):
        raise ApiError(400, INVALID_CURSOR, [{"loc": ["query", "cursor"], "msg": INVALID_CURSOR}])
    return data


def next_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = [(k, v) for k, values in request.GET.lists() for v in values if k != "cursor"]
    params.append(("cursor", cursor))
    return request.build_absolute_uri(f"{request.path}?{urlencode(params)}")


def paginate(qs: QuerySet, *, limit: int, cursor: str | None, keyset: bool = True) -> tuple[int, list, str | None]:
    """One page of `qs`: (total count, rows, next cursor or None).

    With `keyset`, `qs` must be ordered by primary key ascending.
    """
    data = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    count = qs.count()
    if keyset:
        after = data.get("after", 0)
        rows = list(qs.filter(pk__gt=after)[: limit + 1]) if after else list(qs[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return count, rows, _encode({"after": rows[-1].pk}) if more and rows else None
    offset = data.get("offset", 0)
    rows = list(qs[offset : offset + limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return count, rows, _encode({"offset": offset + limit}) if more else None

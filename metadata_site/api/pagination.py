"""Cursor pagination for list endpoints: ``{"count", "results", "next"}``.

Lists in primary-key order page by keyset (``id > last``), so page 10,000 costs the same as page 1.
Lists sorted by something else page by offset. The cursor is opaque to clients either way.
"""

from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest

from metadata_site.lib import cursor as cursor_codec

from .errors import ApiError

INVALID_CURSOR = cursor_codec.CURSOR_INVALID
MAX_LIMIT = 1000


def _encode(data: dict) -> str:
    return cursor_codec.encode(data)


def decode_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        data = cursor_codec.decode(cursor)
    except cursor_codec.CursorError:
        raise ApiError(400, INVALID_CURSOR, [{"loc": ["query", "cursor"], "msg": INVALID_CURSOR}]) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()
    ):
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

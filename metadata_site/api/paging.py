"""ninja's `@paginate` with the API's own wire format: `limit` and `cursor` in the query string,
``{"count", "results", "next"}`` out, `next` the absolute URL of the next page (or null).

ninja's built-in `CursorPagination` would change that format (`page_size`, a `previous` link, no `count`, its own
cursor encoding), so `CursorPage` is a `PaginationBase` of ours. It keeps each endpoint's declared response schema
(`Output = None`: ninja does not swap it for a generated `Paged...` one) and leaves the cursor's encoding and its
400 to `pagination.py` (`paginate`, `decode_cursor`, `next_url`).

An endpoint decorated with `@paginate(CursorPage, ...)` returns what to page: a QuerySet (paged by primary-key
keyset, or by offset with ``keyset=False`` when it is sorted by something else), or a `PageSource` for lists that
page themselves (the items, paged by the explorer's own keyset cursor).
"""

from collections.abc import Callable
from functools import cache
from typing import Any, Protocol, runtime_checkable

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from .pagination import MAX_LIMIT, next_url, paginate


@runtime_checkable
class PageSource(Protocol):
    """A list that pages itself: one page of at most `limit` rows from `cursor` (None: the first page), as
    (total count, rows, the next page's cursor or None)."""

    def page(self, *, limit: int, cursor: str | None) -> tuple[int, list, str | None]: ...


@cache
def _input(default_limit: int) -> type[Schema]:
    """The query parameters `limit` (1..MAX_LIMIT, the endpoint's default) and `cursor`."""
    return type(
        f"CursorPageInput{default_limit}",
        (Schema,),
        {
            "__annotations__": {"limit": int, "cursor": str | None},
            "limit": Field(default_limit, ge=1, le=MAX_LIMIT),
            "cursor": None,
        },
    )


class CursorPage(PaginationBase):
    Output = None  # type: ignore[assignment]  # keep the endpoint's own `...Page` response schema
    items_attribute = "results"

    def __init__(
        self, *, limit: int = 100, keyset: bool = True, row: Callable[[Any], Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.Input = _input(limit)  # type: ignore[misc]
        self.keyset = keyset
        self.row = row

    def paginate_queryset(self, queryset: QuerySet | PageSource, pagination: Any, request: HttpRequest,
                          **params: Any) -> dict:
        if isinstance(queryset, PageSource):
            count, rows, cursor = queryset.page(limit=pagination.limit, cursor=pagination.cursor)
        else:
            count, rows, cursor = paginate(queryset, limit=pagination.limit, cursor=pagination.cursor,
                                           keyset=self.keyset)
        if self.row is not None:
            rows = [self.row(r) for r in rows]
        return {"count": count, "results": rows, "next": next_url(request, cursor)}

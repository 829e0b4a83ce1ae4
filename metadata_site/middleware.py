"""Every web request's database statements run under PostgreSQL's ``statement_timeout``.

`StatementTimeoutMiddleware` sets ``DATABASE_STATEMENT_TIMEOUT_MS`` on the request's connection just before
its first statement and resets it when the response is returned, so a persistent connection (``CONN_MAX_AGE``) carries
nothing over, and the worker (``db_worker``) and management commands, which never pass through here, keep
the server default: they run without a limit. A streamed response (an export) sends its body after the reset,
in keyset pages of bounded size. A statement the timeout cancels (SQLSTATE 57014, ``QueryCanceled``) becomes a
503 with `QUERY_TOO_SLOW`: the page, or for htmx the message alone in place of the fragment (the htmx config
in ``base.html`` swaps 503s), or JSON in the API's error shape. SQLite has no such timeout; there the filter
limits (`explorer.filters`) bound the work a request can ask for.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

QUERY_TOO_SLOW = (
    "This query took too long and was stopped after {seconds:g} s. Narrow it down (a folder, fewer or more "
    "selective filters) and try again."
)
QUERY_CANCELED_SQLSTATE = "57014"


def is_query_cancelled(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is a statement PostgreSQL cancelled, e.g. by statement_timeout."""
    seen = 0
    while exc is not None and seen < 5:
        if getattr(exc, "sqlstate", None) == QUERY_CANCELED_SQLSTATE:
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


def query_too_slow_message() -> str:
    return QUERY_TOO_SLOW.format(seconds=settings.DATABASE_STATEMENT_TIMEOUT_MS / 1000)


class _SetTimeoutFirst:
    """An execute wrapper that sets the timeout on the connection just before the request's first statement,
    so a request that never queries the database never opens a connection for it. It (and the reset) go to the
    driver's cursor directly: a fixed cost of every request, kept out of the query log that pins views' counts."""

    def __init__(self, milliseconds: int):
        self.milliseconds = milliseconds
        self.applied = False

    def __call__(self, execute, sql, params, many, context):
        if not self.applied:
            self.applied = True
            with context["connection"].wrap_database_errors:
                context["cursor"].cursor.execute(
                    "SELECT set_config('statement_timeout', %s, false)", [str(self.milliseconds)]
                )
        return execute(sql, params, many, context)


class StatementTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = settings.DATABASE_STATEMENT_TIMEOUT_MS
        if timeout <= 0 or connection.vendor != "postgresql":
            return self.get_response(request)
        wrapper = _SetTimeoutFirst(timeout)
        try:
            with connection.execute_wrapper(wrapper):
                return self.get_response(request)
        finally:
            if wrapper.applied:
                self._reset()

    @staticmethod
    def _reset() -> None:
        if connection.connection is None:
            return  # closed meanwhile: a new connection starts with the server default
        try:
            with connection.wrap_database_errors:
                connection.connection.execute("RESET statement_timeout")
        except DatabaseError:
            # The connection is unusable (or its transaction aborted): never hand it on with the limit set.
            if not connection.in_atomic_block:
                connection.close()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_query_cancelled(exception):
            return None
        message = query_too_slow_message()
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": []}, status=503)
        template = "query_too_slow.html#message" if getattr(request, "htmx", False) else "query_too_slow.html"
        return render(request, template, {"message": message}, status=503)

"""Every web request's database statements run under PostgreSQL's ``statement_timeout``.

`StatementTimeoutMiddleware` sets ``DATABASE_STATEMENT_TIMEOUT_MS`` on the request's connection just before
its first statement, once per connection: a persistent connection (``CONN_MAX_AGE``) of a web process keeps it for
the next requests, which then send no SET and no RESET (two round trips less per request, on every thumbnail). Only
web processes run this middleware: the worker (``db_worker``) and management commands have their own connections and
keep the server default, no limit. The replicas' connections (``DATABASE_REPLICA_URLS``) get the same treatment. Where the SET happens inside a transaction (a rollback would undo it) it is for
that request only, reset when the response is returned; a change of the setting (tests) resets the connections
that carry the old value. A streamed response (an export) sends its body in keyset pages of bounded size. A statement the timeout cancels (SQLSTATE 57014, ``QueryCanceled``) becomes a
503 with `QUERY_TOO_SLOW`: the page, or for htmx the message alone in place of the fragment (the htmx config
in ``base.html`` swaps 503s), or JSON in the API's error shape. SQLite has no such timeout; there the filter
limits (`explorer.query`) bound the work a request can ask for.
"""

from collections.abc import Callable
from contextlib import ExitStack

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connection, connections
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from metadata_site.db_router import replica_aliases

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
    """An execute wrapper that sets the timeout on the connection just before the request's first statement, unless
    the connection carries it already, so a request that never queries the database never opens a connection for it.
    It (and the reset) go to the driver's cursor directly: a fixed cost, kept out of the query log that pins views'
    counts."""

    def __init__(self, milliseconds: int):
        self.milliseconds = milliseconds
        self.applied = False
        self.reset_after = False

    def __call__(self, execute, sql, params, many, context):
        if not self.applied:
            self.applied = True
            db = context["connection"]
            if _carried(db) != self.milliseconds:
                with db.wrap_database_errors:
                    context["cursor"].cursor.execute(
                        "SELECT set_config('statement_timeout', %s, false)", [str(self.milliseconds)]
                    )
                if db.in_atomic_block:  # a rollback would undo it: for this request only
                    self.reset_after = True
                    db._web_statement_timeout = None
                else:
                    db._web_statement_timeout = (db.connection, self.milliseconds)
        return execute(sql, params, many, context)


def _carried(db) -> int | None:
    """The timeout this process set on `db`'s current connection and that stays on it, or None."""
    mark = getattr(db, "_web_statement_timeout", None)
    return mark[1] if mark is not None and mark[0] is db.connection and db.connection is not None else None


def _reset(db) -> None:
    db._web_statement_timeout = None
    if db.connection is None:
        return  # closed meanwhile: a new connection starts with the server default
    try:
        with db.wrap_database_errors:
            db.connection.execute("RESET statement_timeout")
    except DatabaseError:
        # The connection is unusable (or its transaction aborted): never hand it on with the limit set.
        if not db.in_atomic_block:
            db.close()


@receiver(setting_changed)
def _reset_on_setting_change(*, setting, **kwargs) -> None:
    """Tests change the timeout: connections carrying the old value go back to the server default."""
    if setting == "DATABASE_STATEMENT_TIMEOUT_MS":
        for db in connections.all(initialized_only=True):
            if _carried(db) is not None:
                _reset(db)


class StatementTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = settings.DATABASE_STATEMENT_TIMEOUT_MS
        if connection.vendor != "postgresql":
            return self.get_response(request)
        # The primary and every replica the request may read from (metadata_site/db_router.py).
        databases = [connection, *(connections[alias] for alias in replica_aliases())]
        if timeout <= 0:
            for db in databases:
                if _carried(db) is not None:
                    _reset(db)
            return self.get_response(request)
        wrappers = [(db, _SetTimeoutFirst(timeout)) for db in databases]
        try:
            with ExitStack() as stack:
                for db, wrapper in wrappers:
                    stack.enter_context(db.execute_wrapper(wrapper))
                return self.get_response(request)
        finally:
            for db, wrapper in wrappers:
                if wrapper.reset_after:
                    _reset(db)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_query_cancelled(exception):
            return None
        message = query_too_slow_message()
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": []}, status=503)
        template = "query_too_slow.html#message" if getattr(request, "htmx", False) else "query_too_slow.html"
        return render(request, template, {"message": message}, status=503)

"""Reads on PostgreSQL streaming replicas, writes on the primary (``DATABASE_REPLICA_URLS``, docs/deployment.md).

Only web requests read from a replica, and only where a little lag cannot show a user something wrong:

- `ReplicaReadsMiddleware` opens a routing state for each request (a context variable, cleared when the response is
  closed, after a streamed export has sent its last row). Outside a request (the worker, management commands, a
  shell) there is no state and everything uses the primary.
- `ReplicaRouter.db_for_read` sends a read to a replica unless the request is pinned to the primary: its method is
  unsafe (POST, PUT, PATCH, DELETE: whatever it reads, it reads to write), it carries the signed *pin* cookie that
  a writing request of the same browser or API client set in the last ``DATABASE_REPLICA_PIN_SECONDS``
  (read-your-writes: a save never seems to disappear), or it has written already. A read inside
  ``transaction.atomic`` uses the primary too. A request reads from one replica, chosen at its first read.
- A request "has written" when the ORM asked `db_for_write` (save, update, delete, bulk writes, select_for_update)
  or when a statement other than a read ran on the primary (raw SQL: COPY, ``UPDATE ... FROM``). Its response then
  sets the pin cookie.
- A replica is used only while healthy: in recovery, its WAL receiver streaming, and lagging at most
  ``DATABASE_REPLICA_MAX_LAG_SECONDS``. The lag is 0 when the replica has replayed all the WAL it received (an
  idle primary makes ``pg_last_xact_replay_timestamp()`` old without any lag), otherwise the age of the last
  transaction it replayed. The verdict is kept ``DATABASE_REPLICA_CHECK_SECONDS`` per process; a replica that could
  not be reached (``connect_timeout`` is ``DATABASE_REPLICA_CONNECT_TIMEOUT``) is tried again after
  ``DATABASE_REPLICA_RETRY_SECONDS``. Before its first read a request checks its replica connection as Django's
  ``CONN_HEALTH_CHECKS`` does; a replica that fails then serves nothing and the primary answers, without an error.

The statement timeout of web requests (`metadata_site.middleware`) applies on replica connections too.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import MiddlewareNotUsed
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

REPLICA_PREFIX = "replica_"
PIN_COOKIE = "ms_primary"
PIN_SALT = "metadata_site.db_router.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Statements that only read (or only manage the session): anything else on the primary counts as a write.
_READ_ONLY = re.compile(
    r"\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*|\(\s*)*(SELECT|SHOW|EXPLAIN|SET|RESET|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|"
    r"START|COMMIT|DECLARE|FETCH|CLOSE|VALUES|WITH)\b",
    re.IGNORECASE | re.DOTALL,
)
_WRITES_IN_WITH = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)

# The replica's own view of its health: in recovery, WAL receiver present and (when this role may see it) streaming,
# and the lag in seconds (0 when all WAL received is replayed, so an idle primary does not look like lag).
HEALTH_SQL = (
    "SELECT pg_is_in_recovery(), "
    "EXISTS (SELECT 1 FROM pg_stat_wal_receiver), "
    "(SELECT status FROM pg_stat_wal_receiver), "
    "CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


def replica_aliases() -> list[str]:
    """The replicas' aliases (``replica_0``, ...): none without ``DATABASE_REPLICA_URLS``, and none in tests, where
    each is a mirror of the test database (reading it there would only fail as a database the test did not ask for)."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    where = (primary["HOST"], primary["PORT"], primary["NAME"])
    aliases = []
    for alias in settings.DATABASES:
        if alias.startswith(REPLICA_PREFIX):
            replica = connections[alias].settings_dict
            if replica is not primary and (replica["HOST"], replica["PORT"], replica["NAME"]) != where:
                aliases.append(alias)
    return aliases


def is_write(sql: str) -> bool:
    """Whether a statement may change data (anything but a read, a session setting or transaction control)."""
    m = _READ_ONLY.match(sql)
    if m is None:
        return True
    return m.group(1).upper() == "WITH" and _WRITES_IN_WITH.search(sql) is not None


@dataclass
class RequestRouting:
    """How one web request reads: `pinned` to the primary from the start, `wrote` since, and its replica."""

    pinned: bool
    wrote: bool = False
    replica: str | None = None

    @property
    def on_primary(self) -> bool:
        return self.pinned or self.wrote


_routing: ContextVar[RequestRouting | None] = ContextVar("metadata_site_db_routing", default=None)


@receiver(request_finished, dispatch_uid="db_router_request_finished")
def _end_routing(**kwargs) -> None:
    _routing.set(None)


# --- replica health, per process ----------------------------------------------------------------------------

@dataclass
class Health:
    ok: bool
    reason: str
    until: float  # time.monotonic() until which this verdict stands


_health: dict[str, Health] = {}
_health_lock = threading.Lock()


def replica_health(alias: str) -> tuple[bool, str]:
    """(healthy, why) for `alias`: the cached verdict, or a new check on this thread's connection."""
    now = time.monotonic()
    with _health_lock:
        cached = _health.get(alias)
    if cached is not None and cached.until > now:
        return cached.ok, cached.reason
    ok, reason, reachable = check_replica(alias)
    _remember(alias, ok, reason, reachable=reachable)
    return ok, reason


def _remember(alias: str, ok: bool, reason: str, *, reachable: bool = True) -> None:
    wait = settings.DATABASE_REPLICA_CHECK_SECONDS if reachable else settings.DATABASE_REPLICA_RETRY_SECONDS
    with _health_lock:
        before = _health.get(alias)
        _health[alias] = Health(ok, reason, time.monotonic() + wait)
    if before is None or before.ok != ok:
        if ok:
            log.info("replica %s is in use", alias)
        else:
            log.warning("replica %s is skipped, reads go to the primary: %s", alias, reason)


def _unreachable(exc: Exception) -> str:
    text = str(exc).strip()
    return f"unreachable ({text.splitlines()[0] if text else type(exc).__name__})"


def check_replica(alias: str) -> tuple[bool, str, bool]:
    """Ask the replica itself: (healthy, why, reachable): in recovery, streaming, and lagging at most the bound."""
    db = connections[alias]
    try:
        with db.cursor() as cursor:
            cursor.execute(HEALTH_SQL)
            in_recovery, receiving, status, lag = cursor.fetchone()
    except DatabaseError as exc:
        _close_quietly(db)
        return False, _unreachable(exc), False
    if not in_recovery:
        return False, "not in recovery (a primary, or a promoted replica): it no longer follows this primary", True
    if not receiving or (status is not None and status != "streaming"):
        return False, f"its WAL receiver is {status or 'not running'}: it may be behind by any amount", True
    limit = settings.DATABASE_REPLICA_MAX_LAG_SECONDS
    if lag is None or float(lag) > limit:
        return False, f"lagging {'an unknown time' if lag is None else f'{float(lag):.1f} s'} (limit {limit:g} s)", True
    return True, f"lagging {float(lag):.1f} s", True


def _close_quietly(db) -> None:
    try:
        db.close()
    except DatabaseError:
        pass


def _usable(alias: str) -> bool:
    """Whether this thread's connection to `alias` answers now (Django's health check, once per request)."""
    db = connections[alias]
    try:
        db.close_if_health_check_failed()
        db.ensure_connection()
    except DatabaseError as exc:
        _close_quietly(db)
        _remember(alias, False, _unreachable(exc), reachable=False)
        return False
    return True


def choose_replica() -> str | None:
    """A healthy replica for this request's reads, spreading requests over them; None: use the primary."""
    aliases = replica_aliases()
    random.shuffle(aliases)
    for alias in aliases:
        if replica_health(alias)[0] and _usable(alias):
            return alias
    return None


def read_connection():
    """The connection a raw-SQL read uses: the one the ORM reads from now (the request's replica, or the primary),
    so that the raw and the ORM reads of one request see the same data."""
    return connections[router.db_for_read(None)]


# --- the router -------------------------------------------------------------------------------------------

class ReplicaRouter:
    """Reads of web requests on a healthy replica, everything else on the primary (see the module's docstring)."""

    def db_for_read(self, model, **hints) -> str:
        state = _routing.get()
        if state is None or state.on_primary or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if state.replica is None:
            state.replica = choose_replica() or DEFAULT_DB_ALIAS
        return state.replica

    def db_for_write(self, model, **hints) -> str:
        state = _routing.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        """Rows read from a replica and from the primary are the same data."""
        same = {DEFAULT_DB_ALIAS, *replica_aliases()}
        return True if obj1._state.db in same and obj2._state.db in same else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool | None:
        return False if db.startswith(REPLICA_PREFIX) else None


# --- the middleware ---------------------------------------------------------------------------------------

def pinned_by_cookie(request: HttpRequest) -> bool:
    """Whether the request carries a valid pin cookie younger than ``DATABASE_REPLICA_PIN_SECONDS``."""
    if PIN_COOKIE not in request.COOKIES:
        return False
    value = request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_SALT,
                                      max_age=settings.DATABASE_REPLICA_PIN_SECONDS)
    return value is not None


def _note_writes(state: RequestRouting) -> Callable:
    def wrapper(execute, sql, params, many, context):
        if not state.wrote and is_write(sql):
            state.wrote = True
        return execute(sql, params, many, context)

    return wrapper


class ReplicaReadsMiddleware:
    """Opens the request's routing state and pins its browser or client to the primary after it wrote.
    Not used at all without replicas."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        if not replica_aliases():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = RequestRouting(pinned=request.method not in SAFE_METHODS or pinned_by_cookie(request))
        _routing.set(state)
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(_note_writes(state)):
            response = self.get_response(request)
        if state.wrote:
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_signed_cookie(
                PIN_COOKIE, signing.b62_encode(int(time.time())), salt=PIN_SALT, max_age=max(1, round(seconds)),
                httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

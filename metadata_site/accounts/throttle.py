"""Login rate limit: LOGIN_MAX_FAILURES failed logins per (username, client IP) within LOGIN_FAILURE_WINDOW
lock that pair out until the oldest failure leaves the window. Failures are rows of `LoginFailure`, so the
limit is shared by every web process; a successful login clears the pair's failures."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import LoginFailure

LOGIN_RATE_LIMITED = (
    "Too many failed logins for this username from your address. Try again in {minutes} minute{s}."
)


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60))


def _max() -> int:
    return getattr(settings, "LOGIN_MAX_FAILURES", 5)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR: behind a reverse proxy, configure it to set REMOTE_ADDR (X-Forwarded-For is not trusted,
    since a client could rotate it to dodge the limit)."""
    return request.META.get("REMOTE_ADDR") or None


def _key(username: str) -> str:
    return (username or "").strip().lower()[:150]


def login_locked_for(*, username: str, ip: str | None) -> int:
    """Seconds until `username` may try again from `ip`; 0 when not locked."""
    now = timezone.now()
    recent = LoginFailure.objects.filter(username=_key(username), ip=ip, created_at__gte=now - _window())
    times = list(recent.order_by("-created_at").values_list("created_at", flat=True)[: _max()])
    if len(times) < _max():
        return 0
    return max(1, int((times[-1] + _window() - now).total_seconds()))


def login_failure_record(*, username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=_key(username), ip=ip)
    # Keep the table small: rows older than the window never count again.
    LoginFailure.objects.filter(created_at__lt=timezone.now() - 4 * _window()).delete()


@transaction.atomic
def login_failures_clear(*, username: str, ip: str | None) -> None:
    LoginFailure.objects.filter(username=_key(username), ip=ip).delete()


def locked_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return LOGIN_RATE_LIMITED.format(minutes=minutes, s="" if minutes == 1 else "s")

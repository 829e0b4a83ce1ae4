"""API tokens: create, revoke, authenticate."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import ApiToken

TOKEN_PREFIX = "msk_"
TOKEN_NAME_REQUIRED = "Give the token a name (what script or machine uses it)."
TOKEN_NAME_TOO_LONG = "A token name is at most 100 characters."
# last_used_at is written at most this often per token, so busy scripts do not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _split(raw: str) -> str | None:
    """The public prefix of a well-formed token, else None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not prefix or not secret or len(prefix) > 16:
        return None
    return prefix


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the raw token (the only time it exists)."""
    name = (name or "").strip()
    if not name:
        raise ValueError(TOKEN_NAME_REQUIRED)
    if len(name) > 100:
        raise ValueError(TOKEN_NAME_TOO_LONG)
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, secret_hash=_hash(raw))
    return token, raw


@transaction.atomic
def api_token_revoke(*, user, token_id: int) -> ApiToken:
    """Revoke one of `user`'s tokens (idempotent). Raises ApiToken.DoesNotExist for anyone else's."""
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str):
    """The active user a raw token belongs to, or None (unknown, malformed, revoked or inactive user)."""
    prefix = _split(raw or "")
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(raw)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user

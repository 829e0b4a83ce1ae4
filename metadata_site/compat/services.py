"""Registering and removing the SSH keys that sign Encord SDK requests, and remembering the signatures used."""

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from metadata_site.lib.errors import MessageError
from metadata_site.workspaces.models import Membership, Workspace

from .keys import parse_public_key
from .models import SeenSignature, SshKey

SSH_KEY_TAKEN = "This key is already registered. Each key can belong to one user only."
SSH_KEY_NAME_TOO_LONG = "A key name is at most 100 characters."
SSH_KEY_WORKSPACE_FORBIDDEN = "You are not a member of that workspace."


class SshKeyInvalid(MessageError):
    """The key cannot be registered; the message says why."""


@transaction.atomic
def ssh_key_add(*, user, public_key: str, name: str = "", workspace: Workspace | None = None) -> SshKey:
    """Register an OpenSSH Ed25519 public key for `user`. Raises SshKeyInvalid with a clear message."""
    try:
        parsed = parse_public_key(public_key)
    except ValueError as exc:
        raise SshKeyInvalid(str(exc)) from None
    name = (name or "").strip() or parsed.comment or parsed.fingerprint
    if len(name) > 100:
        raise SshKeyInvalid(SSH_KEY_NAME_TOO_LONG)
    if workspace is not None and not Membership.objects.filter(user=user, workspace=workspace).exists():
        raise SshKeyInvalid(SSH_KEY_WORKSPACE_FORBIDDEN)
    if SshKey.objects.filter(key_hex=parsed.key_hex).exists():
        raise SshKeyInvalid(SSH_KEY_TAKEN)
    return SshKey.objects.create(
        user=user,
        workspace=workspace,
        name=name,
        key_hex=parsed.key_hex,
        public_key=f"{parsed.openssh} {parsed.comment}".strip(),
        fingerprint=parsed.fingerprint,
    )


@transaction.atomic
def ssh_key_remove(*, user, key_id: int) -> SshKey:
    """Delete one of `user`'s keys. Raises SshKey.DoesNotExist for anyone else's."""
    key = SshKey.objects.get(pk=key_id, user=user)
    key.delete()
    return key


def signature_first_use(*, digest: str, expires_at: int) -> bool:
    """Record a signature (its digest, and the Unix time from which it is stale anyway); False if it was recorded
    before and has not expired: a replay. Expired records are pruned on the way."""
    SeenSignature.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            SeenSignature.objects.create(digest=digest, expires_at=datetime.fromtimestamp(expires_at, UTC))
    except IntegrityError:
        return False
    return True

"""Registering and removing the SSH keys that sign Encord SDK requests."""

from django.db import transaction

from metadata_site.workspaces.models import Membership, Workspace

from .keys import parse_public_key
from .models import SshKey

SSH_KEY_TAKEN = "This key is already registered. Each key can belong to one user only."
SSH_KEY_NAME_TOO_LONG = "A key name is at most 100 characters."
SSH_KEY_WORKSPACE_FORBIDDEN = "You are not a member of that workspace."


class SshKeyInvalid(ValueError):
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

from django.conf import settings
from django.db import models

from metadata_site.workspaces.models import Workspace


class SshKey(models.Model):
    """An Ed25519 public key the Encord SDK signs requests with, registered by its user.

    `key_hex` is the raw 32-byte public key in lower-case hex: the `keyid` of the SDK's v2 signatures
    and the prefix of its legacy `Authorization` header. A key optionally names one workspace: then
    every request it signs is confined to that workspace.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="Confine the key to this workspace (empty: every workspace of its user).",
    )
    name = models.CharField(max_length=100)
    key_hex = models.CharField(max_length=64, unique=True)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint})"


class SeenSignature(models.Model):
    """An Encord /v2 request signature already accepted, remembered until it would be stale anyway: the same
    signature again is a replay. Keyed by the SHA-256 of the Signature header; rows past `expires_at` are pruned
    as new ones are recorded. In the database, so every web process sees every other's."""

    digest = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest

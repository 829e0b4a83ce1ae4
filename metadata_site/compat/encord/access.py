"""Who signed an Encord request, and what it reaches.

Every request is signed with an Ed25519 key its user registered (Settings → SSH keys), or bears a metadata_site API
token (`create_with_bearer_token`). The `Signer` sees the workspaces its user is a member of (or the one its key is
confined to), resolves projects by UUID among them (404 otherwise) and needs the editor role to write (403). Shared
by the /v2 REST endpoints and the legacy RPC.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from metadata_site.accounts.services import api_token_authenticate
from metadata_site.projects.models import Project
from metadata_site.workspaces.models import ROLE_RANK, Membership, Role, Workspace

from ..keys import public_key_from_hex
from ..models import SshKey
from ..services import signature_first_use
from .signatures import MAX_SKEW_SECONDS, SIG_REPLAYED, SignatureRefused, signature_id, verify_legacy, verify_v2

NOT_FOUND = "Not found."
READ_ONLY = "Your role in this workspace is read-only."
INTERNAL = "The server could not process this request."
AMBIGUOUS_WORKSPACE = (
    "This key reaches several workspaces ({names}); register a key for one workspace (Settings → SSH keys) "
    "to read or save that workspace's metadata schema."
)
NO_WORKSPACE = "This key's user is not a member of any workspace."
BAD_BEARER = "The bearer token is unknown or revoked."


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Signer:
    """Who made the request: the user of the SSH key that signed it (or of the API token it bears)."""

    user: object
    roles: dict[int, str]  # workspace id → role, for the workspaces this key reaches
    key: SshKey | None = None

    @property
    def workspace_ids(self) -> list[int]:
        return list(self.roles)

    def require(self, workspace_id: int, role: str, message: str = READ_ONLY) -> None:
        if ROLE_RANK[Role(self.roles[workspace_id])] < ROLE_RANK[Role(role)]:
            raise ApiError(403, message)

    def schema_workspace(self) -> Workspace:
        if not self.roles:
            raise ApiError(403, NO_WORKSPACE)
        workspaces = list(Workspace.objects.filter(pk__in=self.workspace_ids).order_by("slug"))
        if len(workspaces) > 1:
            raise ApiError(400, AMBIGUOUS_WORKSPACE.format(names=", ".join(w.slug for w in workspaces)))
        return workspaces[0]


def _lookup(key_hex: str):
    key = SshKey.objects.filter(key_hex=key_hex, user__is_active=True).only("key_hex").first()
    return public_key_from_hex(key.key_hex) if key else None


def _signer(key_hex: str) -> Signer:
    key = SshKey.objects.select_related("user").get(key_hex=key_hex)
    memberships = Membership.objects.filter(user=key.user)
    if key.workspace_id is not None:
        memberships = memberships.filter(workspace_id=key.workspace_id)
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        SshKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Signer(user=key.user, key=key, roles=dict(memberships.values_list("workspace_id", "role")))


def authenticate(request: HttpRequest, body: bytes, *, legacy: bool) -> Signer:
    """The signer of a request, or SignatureRefused. `create_with_bearer_token` clients send a metadata_site API
    token instead of a signature, on both transports."""
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        user = api_token_authenticate(raw=authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise SignatureRefused(BAD_BEARER)
        return Signer(user=user, roles=dict(Membership.objects.filter(user=user).values_list("workspace_id", "role")))
    if legacy:
        return _signer(verify_legacy(authorization=authorization, body=body, lookup=_lookup))
    key_hex = verify_v2(
        method=request.method, target=_request_target(request), headers=request.headers, body=body, lookup=_lookup,
        max_future=settings.ENCORD_SIGNATURE_MAX_FUTURE_SECONDS,
    )
    # A write is never accepted twice under one signature. Reads are exempt: the SDK's signature of a request is
    # deterministic (Ed25519, `created` in whole seconds, no nonce), so two identical reads within a second carry
    # the same signature legitimately, and a replayed read changes nothing.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        digest, created = signature_id(request.headers)
        if not signature_first_use(digest=digest, expires_at=created + MAX_SKEW_SECONDS):
            raise SignatureRefused(SIG_REPLAYED)
    return _signer(key_hex)


def _request_target(request: HttpRequest) -> str:
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        return raw
    query = request.META.get("QUERY_STRING", "")
    return request.path + (f"?{query}" if query else "")


def owner(signer: Signer) -> str:
    return signer.user.email or signer.user.username


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None


def project_for(signer: Signer, project_uid: str) -> Project:
    project = Project.objects.filter(uid=parse_uuid(project_uid), workspace_id__in=signer.workspace_ids).first()
    if project is None:
        raise ApiError(404, NOT_FOUND)
    return project

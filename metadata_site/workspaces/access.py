"""The one access check every view and API endpoint calls first.

A user who is not a member of a workspace gets 404 for it and for everything in it, never a hint
that it exists. A member whose role is too low for the action gets 403.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Role, Workspace

WORKSPACE_READ_ONLY = "Your role in this workspace is read-only."
WORKSPACE_ADMIN_ONLY = "Only workspace admins can do this."


@dataclass(frozen=True)
class Access:
    workspace: Workspace
    membership: Membership

    @property
    def can_write(self) -> bool:
        return self.membership.can_write

    @property
    def can_admin(self) -> bool:
        return self.membership.can_admin


def get_access(user, slug: str, *, role: str = Role.VIEWER) -> Access:
    """Resolve the workspace `slug` for `user`, requiring at least `role`.

    Raises Http404 when the user is not a member (or anonymous) and PermissionDenied when the
    member's role is below `role`.
    """
    if not user.is_authenticated:
        raise Http404("No such workspace")
    membership = (
        Membership.objects.select_related("workspace").filter(user=user, workspace__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such workspace")
    if not membership.allows(role):
        raise PermissionDenied(WORKSPACE_ADMIN_ONLY if role == Role.ADMIN else WORKSPACE_READ_ONLY)
    return Access(workspace=membership.workspace, membership=membership)


def get_access_for_workspace(user, workspace: Workspace, *, role: str = Role.VIEWER) -> Access:
    """Like get_access, for a workspace already loaded (e.g. through an object's workspace_id)."""
    return get_access(user, workspace.slug, role=role)


def get_for_member(user, slug: str, queryset: QuerySet, **lookup):
    """One object of `queryset` (a model with a `workspace`) in workspace `slug`, for a read any member may do
    (the viewer role, get_access's default), in one query: the membership check is a join of that query.

    Exactly as strict as get_access followed by a lookup in its workspace: an anonymous user, a stranger, a missing
    workspace and a missing object all get the same Http404. For the hot read-only paths (thumbnails, media)."""
    if not user.is_authenticated:
        raise Http404("No such workspace")
    try:
        return queryset.get(workspace__slug=slug, workspace__memberships__user=user.pk, **lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None

"""Access checks for API endpoints: the UI's `get_access`, applied to the authenticated API user."""

from django.http import HttpRequest

from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role


def read_access(request: HttpRequest, slug: str) -> Access:
    """Any member may read; strangers get 404."""
    return get_access(request.auth, slug, role=Role.VIEWER)


def write_access(request: HttpRequest, slug: str) -> Access:
    """Editors and admins may write; viewers get 403, strangers 404."""
    return get_access(request.auth, slug, role=Role.EDITOR)

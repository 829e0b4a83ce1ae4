"""Access checks for API endpoints: the UI's `get_access`, applied to the authenticated API user.

Authentication already resolved the access to the URL's workspace (`request.api_access`, see `auth.py`);
these return it without another query, or check afresh when it is missing.
"""

from django.http import HttpRequest

from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role


def _cached(request: HttpRequest, slug: str) -> Access | None:
    access = getattr(request, "api_access", None)
    return access if access is not None and access.workspace.slug == slug else None


def read_access(request: HttpRequest, slug: str) -> Access:
    """Any member may read; strangers get 404."""
    return _cached(request, slug) or get_access(request.auth, slug, role=Role.VIEWER)


def write_access(request: HttpRequest, slug: str) -> Access:
    """Editors and admins may write; viewers get 403, strangers 404."""
    access = _cached(request, slug)
    if access is not None and access.can_write:
        return access
    return get_access(request.auth, slug, role=Role.EDITOR)

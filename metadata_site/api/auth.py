"""API authentication: personal tokens (``Authorization: Bearer``) and the browser session (with CSRF).

Authentication also resolves the caller's access to the workspace the URL names (``slug``, or the
workspace of ``dataset_id`` in Visual Layer's paths) before anything else runs, so a stranger gets 404 and
a viewer writing gets 403 even when the request body would not validate. Safe methods need a viewer,
unsafe ones an editor; read-only POSTs (search, export) use `api_read_auth`.
"""

from uuid import UUID

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from metadata_site.accounts.services import api_token_authenticate
from metadata_site.lib.userinput import parse_id
from metadata_site.projects.models import Dataset
from metadata_site.workspaces.access import get_access
from metadata_site.workspaces.models import Role

CSRF_FAILED = "CSRF check failed: send the X-CSRFToken header with session authentication."
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _workspace_slug(request: HttpRequest) -> str | None:
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    if "slug" in kwargs:
        return kwargs["slug"]
    raw = str(kwargs.get("dataset_id", ""))
    if not raw:
        return None
    if (pk := parse_id(raw)) is not None:
        dataset = Dataset.objects.filter(pk=pk).select_related("workspace").first()
    elif raw.isascii() and raw.isdigit():  # an id too long to be one
        dataset = None
    else:
        try:
            dataset = Dataset.objects.filter(uid=UUID(raw)).select_related("workspace").first()
        except ValueError:
            dataset = None
    return dataset.workspace.slug if dataset else ""


def _check_access(request: HttpRequest, user, role: str | None) -> None:
    """Resolve (and remember on the request) the user's access to the URL's workspace, at least `role`."""
    slug = _workspace_slug(request)
    if slug is None:
        return
    if role is None:
        role = Role.VIEWER if request.method in SAFE_METHODS else Role.EDITOR
    request.api_access = get_access(user, slug, role=role)


class BearerToken(HttpBearer):
    def __init__(self, role: str | None = None):
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, token: str):
        user = api_token_authenticate(raw=token)
        if user is not None:
            _check_access(request, user, self.role)
        return user


class SessionWithCsrf(APIKeyCookie):
    """The logged-in browser session. Unsafe methods must carry a valid CSRF token.

    Unlike ninja's SessionAuth, anonymous requests are not CSRF-checked, so they get 401, not 403.
    """

    param_name = "sessionid"

    def __init__(self, role: str | None = None):
        super().__init__()
        self.role = role

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        if not request.user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise HttpError(403, CSRF_FAILED)
        _check_access(request, request.user, self.role)
        return request.user


api_auth = [BearerToken(), SessionWithCsrf()]
# For POSTs that only read (search, export): a viewer may call them.
api_read_auth = [BearerToken(Role.VIEWER), SessionWithCsrf(Role.VIEWER)]

"""API authentication: personal tokens (``Authorization: Bearer``) and the browser session (with CSRF)."""

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from metadata_site.accounts.services import api_token_authenticate

CSRF_FAILED = "CSRF check failed: send the X-CSRFToken header with session authentication."


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        return api_token_authenticate(raw=token)


class SessionWithCsrf(APIKeyCookie):
    """The logged-in browser session. Unsafe methods must carry a valid CSRF token.

    Unlike ninja's SessionAuth, anonymous requests are not CSRF-checked, so they get 401, not 403.
    """

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        if not request.user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise HttpError(403, CSRF_FAILED)
        return request.user


api_auth = [BearerToken(), SessionWithCsrf()]

import functools
import json

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .api import api
from .errors import NOT_FOUND

METHOD_NOT_ALLOWED = "Method {method} is not allowed here; allowed: {allowed}."


def _json(status: int, detail: str) -> HttpResponse:
    return HttpResponse(json.dumps({"detail": detail, "errors": []}), status=status, content_type="application/json")


def _json_405(view):
    """ninja answers an unsupported method with a plain-text 405; give it the API's JSON error shape."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            replacement = _json(405, METHOD_NOT_ALLOWED.format(method=request.method, allowed=allowed))
            replacement["Allow"] = allowed
            return replacement
        return response

    return wrapper


@csrf_exempt
def api_not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return _json(404, NOT_FOUND)


_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    _pattern.callback = _json_405(_pattern.callback)

urlpatterns = [
    path("api/", (_patterns, _app_name, _namespace)),
    path("api/<path:rest>", api_not_found),
]

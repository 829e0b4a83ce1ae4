"""Refuse NUL characters in a request's path, query string and form with a 400 that names the parameter.

Neither a URL nor a form value has a use for U+0000, and PostgreSQL cannot store it in text (a lookup with it is an
error, not "no match"): one check here instead of one in every filter, login and form. JSON bodies are checked by
their parser (`lib/strictjson.py`). A multipart form is read here only for views under Django's CSRF check, which
reads it anyway; CSRF-exempt views (the API, the vendor protocols, uploads read under their own size limit) keep
their body to themselves. An htmx form post is left to its view, which shows its form's errors in place (Django's
CharField refuses NUL), where a bare 400 would show nothing.
"""

import json

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

NUL_IN_REQUEST = "The {where} contains a NUL character (\\u0000), which is not allowed."


def _form(request: HttpRequest, view_func):
    if request.method != "POST" or request.headers.get("HX-Request") == "true":
        return None
    if request.content_type == "multipart/form-data" and getattr(view_func, "csrf_exempt", False):
        return None
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    try:
        return request.POST
    except SuspiciousOperation:  # too large or too many fields: the view meets the same refusal
        return None


def _nul_location(request: HttpRequest, view_func) -> tuple[str, list[str]] | None:
    if "\x00" in request.path:
        return "URL path", ["path"]
    for source, data in (("query", request.GET), ("form", _form(request, view_func))):
        for key, values in data.lists() if data is not None else ():
            if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
                name = key.replace("\x00", "")[:100]
                return f"{source} parameter “{name}”", [source, name]
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        found = _nul_location(request, view_func)
        if found is None:
            return None
        where, loc = found
        message = NUL_IN_REQUEST.format(where=where)
        if "text/html" in request.headers.get("Accept", ""):
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        body = {"detail": message, "errors": [{"loc": loc, "msg": message}]}
        return HttpResponse(json.dumps(body, ensure_ascii=False), status=400, content_type="application/json")

"""The /v2 REST plumbing: the `v2_endpoint` decorator (method check, signature, errors as `{"message"}` with
their status; client mistakes are never a 5xx, since the SDK retries those with back-off), the JSON body and query
parameters."""

import logging
from collections.abc import Callable
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from metadata_site.lib import strictjson

from .access import INTERNAL, ApiError, authenticate
from .signatures import SignatureRefused

logger = logging.getLogger(__name__)

BAD_JSON_TEXT = "The request body is not usable JSON: {detail}"
BAD_PARAM = "The query parameter {name!r} is invalid: {detail}."


def _v2_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def v2_endpoint(*methods: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> JsonResponse:
            try:
                body = request.body
            except RequestDataTooBig:
                return _v2_error(413, "The request body is too large.")
            if request.method not in methods:
                return _v2_error(405, f"Use {' or '.join(methods)}.")
            try:
                signer = authenticate(request, body, legacy=False)
            except SignatureRefused as exc:
                return _v2_error(401, str(exc))
            try:
                return view(request, signer, **kwargs)
            except ApiError as exc:
                return _v2_error(exc.status, exc.message)
            except Exception:
                logger.exception("Encord %s %s failed", request.method, request.path)
                return _v2_error(400, INTERNAL)

        return wrapper

    return decorate


def json_body(request: HttpRequest):
    try:
        return strictjson.loads_body(request.body)
    except strictjson.StrictJSONError as exc:
        raise ApiError(400, BAD_JSON_TEXT.format(detail=exc.message)) from None


def query_bool(request: HttpRequest, name: str, default: bool | None) -> bool | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, BAD_PARAM.format(name=name, detail="expected true or false"))

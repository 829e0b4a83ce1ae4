"""One JSON error shape for every API failure: ``{"detail": "...", "errors": [{"loc": [...], "msg": "..."}]}``.

A client mistake is always a 4xx with this body; services' validation exceptions are mapped here.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from metadata_site.middleware import is_query_cancelled, query_too_slow_message

NOT_FOUND = "Not found."
UNAUTHORIZED = "Authentication required: send Authorization: Bearer <token> (create one on your settings page)."
INVALID_INPUT = "The request is invalid."
NUMBER_OUT_OF_RANGE = "A number in the request is out of range."
BODY_TOO_LARGE = "The request body is larger than {limit:,} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."
PRECONDITION_FAILED = "The resource changed since you read it (If-Match does not match the current ETag)."
TOO_MANY_FILES = "At most {limit} files per request: send them in several requests."


class ErrorLoc(Schema):
    loc: list[str | int]
    msg: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorLoc] = []


class ApiError(Exception):
    """Raised by API code for a client mistake with a status and optional per-location errors."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


# Statuses every endpoint may answer with (documented in OpenAPI so clients and schemathesis know).
ERROR_CODES = frozenset({400, 401, 403, 404, 409, 412, 413, 422, 503})


def responses(ok: Any, *, status: int = 200, codes=ERROR_CODES) -> dict:
    return {status: ok, **{code: ErrorOut for code in sorted(codes)}}


def error_response(api: NinjaAPI, request: HttpRequest, status: int, detail: str, errors=None) -> HttpResponse:
    body = {"detail": detail, "errors": [{"loc": list(e.get("loc", [])), "msg": str(e["msg"])} for e in errors or []]}
    return api.create_response(request, body, status=status)


def _ninja_validation(api: NinjaAPI, request, exc: ValidationError) -> HttpResponse:
    errors = []
    for e in exc.errors:
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        errors.append({"loc": loc, "msg": e.get("msg", "invalid")})
    first = errors[0] if errors else None
    detail = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else INVALID_INPUT
    return error_response(api, request, 422, detail, errors)


def _django_validation(api: NinjaAPI, request, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [{"loc": [k], "msg": m} for k, msgs in exc.message_dict.items() for m in msgs]
    else:
        errors = [{"loc": [], "msg": m} for m in exc.messages]
    return error_response(api, request, 422, errors[0]["msg"] if errors else INVALID_INPUT, errors)


def _http_error(api: NinjaAPI, request, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, ApiError):  # raised by our body parser inside ninja, which wraps it
        return error_response(api, request, cause.status, cause.detail, cause.errors)
    if isinstance(cause, RequestDataTooBig):
        return _too_big(api, request)
    return error_response(api, request, exc.status_code, str(exc))


def _too_big(api: NinjaAPI, request) -> HttpResponse:
    message = BODY_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return error_response(api, request, 413, message, [{"loc": ["body"], "msg": message}])


def _operational(api: NinjaAPI, request, exc: OperationalError) -> HttpResponse:
    if is_query_cancelled(exc):
        return error_response(api, request, 503, query_too_slow_message())
    raise exc


def install_error_handlers(api: NinjaAPI) -> None:
    api.add_exception_handler(ApiError, lambda r, e: error_response(api, r, e.status, e.detail, e.errors))
    api.add_exception_handler(ValidationError, lambda r, e: _ninja_validation(api, r, e))
    api.add_exception_handler(AuthenticationError, lambda r, e: error_response(api, r, 401, UNAUTHORIZED))
    api.add_exception_handler(HttpError, lambda r, e: _http_error(api, r, e))
    api.add_exception_handler(RequestDataTooBig, lambda r, e: _too_big(api, r))
    api.add_exception_handler(Http404, lambda r, e: error_response(api, r, 404, str(e) or NOT_FOUND))
    api.add_exception_handler(ObjectDoesNotExist, lambda r, e: error_response(api, r, 404, NOT_FOUND))
    api.add_exception_handler(PermissionDenied, lambda r, e: error_response(api, r, 403, str(e) or "Forbidden."))
    api.add_exception_handler(
        TooManyFilesSent,
        lambda r, e: error_response(api, r, 400, TOO_MANY_FILES.format(limit=settings.DATA_UPLOAD_MAX_NUMBER_FILES)),
    )
    api.add_exception_handler(DjangoValidationError, lambda r, e: _django_validation(api, r, e))
    # An id beyond the database's integer range (SQLite raises when binding it): no such object.
    api.add_exception_handler(OverflowError, lambda r, e: error_response(api, r, 400, NUMBER_OUT_OF_RANGE))
    api.add_exception_handler(DataError, lambda r, e: error_response(api, r, 400, NUMBER_OUT_OF_RANGE))
    api.add_exception_handler(OperationalError, lambda r, e: _operational(api, r, e))

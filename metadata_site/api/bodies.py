"""Raw JSON request bodies (custom data, item metadata) parsed with clear, located errors.

These endpoints take the JSON object itself as the body (not wrapped in a schema), so OpenAPI gets the
body declared through `object_body()`.
"""

import re
from typing import Any

from django.http import HttpRequest

from metadata_site.lib import strictjson

from .errors import ApiError

BODY_NOT_OBJECT = "The body must be a JSON object."
IF_MATCH_MALFORMED = 'If-Match must be an ETag such as "3" (from a GET of this resource), got {raw!r}.'


def object_body(description: str) -> dict:
    """`openapi_extra` declaring a JSON object request body."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        }
    }


def strict_object(request: HttpRequest) -> dict:
    """The body as a JSON object, by the custom-data rules (no duplicate keys, finite numbers, ≤ 1 MB)."""
    try:
        return strictjson.parse(request.body.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        raise ApiError(400, "The body is not UTF-8 text.") from None
    except strictjson.StrictJSONError as exc:
        loc: list = ["body", *(exc.path or [])]
        raise ApiError(400 if exc.line else 422, exc.message, [{"loc": loc, "msg": exc.message}]) from None


def json_value(request: HttpRequest) -> Any:
    """The body by the rules of every JSON a user writes (`lib/strictjson.py`), any top-level type; a refusal is
    an ApiError naming line and column (or the JSON path)."""
    try:
        return strictjson.loads_body(request.body)
    except strictjson.StrictJSONError as exc:
        loc: list = ["body", *(exc.path or [])]
        raise ApiError(400 if exc.line or not exc.path else 422, exc.message, [{"loc": loc, "msg": exc.message}]) from None


def json_object(request: HttpRequest) -> dict:
    value = json_value(request)
    if not isinstance(value, dict):
        raise ApiError(422, BODY_NOT_OBJECT, [{"loc": ["body"], "msg": BODY_NOT_OBJECT}])
    return value


_ETAG = re.compile(r'^\s*(?:W/)?"?([0-9]{1,12})"?\s*$')


def if_match_version(request: HttpRequest) -> int | None:
    """The version an If-Match header names (None without the header or for ``*``)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    m = _ETAG.match(raw)
    if m is None:
        msg = IF_MATCH_MALFORMED.format(raw=raw)
        raise ApiError(400, msg, [{"loc": ["header", "If-Match"], "msg": msg}])
    return int(m.group(1))

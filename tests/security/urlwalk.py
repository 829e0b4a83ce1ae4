"""Every URL pattern of the site, as (route, pattern) pairs, from Django's resolver."""

import re
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def walk(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from walk(p, route)
        else:
            yield route, p


def routes() -> dict[str, URLPattern]:
    found: dict[str, URLPattern] = {}
    for route, pattern in walk():
        found.setdefault(route, pattern)
    return found


def parameters(route: str) -> list[str]:
    """Names of the path parameters of a route (`<int:pk>`) or a regex (`(?P<pk>...)`)."""
    return [m["name"] for m in _CONVERTER.finditer(route)] + [m["name"] for m in _GROUP.finditer(route)]


def build_path(route: str, values: dict[str, str]) -> str:
    """Fill the parameters of a `path()` route; regex routes are built by the caller with reverse()."""
    return "/" + _CONVERTER.sub(lambda m: str(values[m["name"]]), route)

"""Every URL × method × {anonymous, stranger, viewer, editor, admin} against the matrix in `matrix.py`.

The cases are generated from the URL configuration at collection time, so a new URL is tested (and fails
until it has a matrix entry) without anyone remembering to write a test for it.
"""

import json

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from ..compat import signing
from . import matrix, urlwalk
from .world import build_world, destroy_world

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTES = urlwalk.routes()

MISSING_ENTRY = (
    "URL {route!r} (view {view}) has no entry in tests/security/matrix.py. Add one: the methods the view "
    "accepts and the level each needs (PUBLIC, LOGIN, READ, WRITE, ADMIN), and which world object fills "
    "each path parameter."
)


def _rule(route: str) -> tuple[matrix.Entry | None, str | None]:
    """The entry of `route` and, for a subtree rule, its level."""
    for prefix, level in matrix.PREFIXES:
        if route.startswith(prefix):
            return None, level
    return matrix.MATRIX.get(route), None


def _resolve(world, ref: str):
    if ref.startswith("="):
        return ref[1:]
    value = world
    for part in ref.split("."):
        value = getattr(value, part)
    return value


def _path(world, route: str, entry: matrix.Entry) -> str:
    values = {name: _resolve(world, entry.params.get(name) or matrix.PARAMS[name]) for name in urlwalk.parameters(route)}
    path = urlwalk.build_path(route, values)
    return f"{path}?{entry.query}" if entry.query else path


def _as(client, world, role: str, entry: matrix.Entry):
    """The client logged in as `role` when the entry authenticates by session; logged out otherwise."""
    client.logout()
    if role != "anonymous" and entry.auth == "session":
        client.force_login(world.users[role])
    return client


def _call(client, world, role: str, method: str, path: str, entry: matrix.Entry):
    if entry.auth == "session" and not entry.api:
        if method == "GET":
            return client.get(path)
        if method == "POST":
            return client.post(path, entry.data or {})
        return client.generic(method, path, "", content_type="application/json")
    body = b"" if method == "GET" else json.dumps(entry.json or {}).replace("{item.uid}", str(world.item.uid)).encode()
    headers = {}
    if role != "anonymous" and entry.auth == "token":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    if role != "anonymous" and entry.auth == "encord":
        headers.update(signing.v2_headers(world.ssh_keys[role], method, path, body))
    return client.generic(method, path, body, content_type="application/json", headers=headers)


def _check(response, want, route: str, method: str, role: str) -> None:
    where = f"{method} /{route} as {role}"
    assert response.status_code != 500, f"{where}: server error"
    if want == "login":
        assert response.status_code == 302, f"{where}: expected a login redirect, got {response.status_code}"
        assert response["Location"].startswith(reverse(settings.LOGIN_URL)), f"{where}: {response['Location']}"
    elif want == "admin-login":
        assert response.status_code == 302, f"{where}: expected the admin login redirect, got {response.status_code}"
        assert response["Location"].startswith(reverse("admin:login")), f"{where}: {response['Location']}"
    else:
        assert response.status_code in want, f"{where}: expected one of {sorted(want)}, got {response.status_code}"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the whole module, committed; each request runs in a rolled-back savepoint."""
    with django_db_blocker.unblock():
        built = build_world()
        yield built
        destroy_world(built)


def test_every_url_has_a_matrix_entry():
    missing = []
    for route, pattern in ROUTES.items():
        entry, level = _rule(route)
        if entry is None and level is None:
            missing.append(MISSING_ENTRY.format(route=route, view=getattr(pattern.callback, "__qualname__", "?")))
    assert not missing, "\n".join(missing)


def test_the_matrix_has_no_stale_entries():
    stale = sorted(set(matrix.MATRIX) - set(ROUTES))
    assert not stale, f"Entries for URLs that no longer exist (remove them from tests/security/matrix.py): {stale}"


def _rolled_back(call):
    """Run one request in a savepoint that is rolled back, so every caller sees the same world."""
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("route", sorted(r for r in ROUTES if r in matrix.MATRIX))
def test_access(client, world, route):
    """Each method of the entry as each caller gets the expected status; an admin calling any other method
    gets 405, so the matrix cannot silently skip a method the view accepts."""
    entry = matrix.MATRIX[route]
    path = _path(world, route, entry)
    failures = []
    for role in matrix.ROLES:
        _as(client, world, role, entry)
        for method, level in entry.methods.items():
            response = _rolled_back(lambda: _call(client, world, role, method, path, entry))  # noqa: B023
            try:
                _check(response, matrix.expected(level, role, method, entry), route, method, role)
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    _as(client, world, "admin", entry)
    for method in METHODS:
        if method not in entry.methods:
            response = _rolled_back(lambda: _call(client, world, "admin", method, path, entry))  # noqa: B023
            if response.status_code != 405:
                failures.append(
                    f"{method} /{route} answered {response.status_code}, not 405: the view accepts {method}, so "
                    "add it to its entry in tests/security/matrix.py"
                )
    assert not failures, "\n".join(failures)


# Values for the named groups of the Django admin's regex routes.
_ADMIN_ARGS = {"app_label": "auth", "object_id": "1", "content_type_id": "1", "url": "anything", "id": "1"}


@pytest.mark.django_db
def test_staff_only_subtrees(client, world):
    """The Django admin site: every named route sends anonymous callers and non-staff members (whatever their
    workspace role) to the admin login page."""
    failures, checked = [], 0
    for route, pattern in sorted(ROUTES.items()):
        _, level = _rule(route)
        if level != matrix.STAFF or not pattern.name or pattern.name in ("login", "logout"):
            continue
        args = {p: _ADMIN_ARGS[p] for p in urlwalk.parameters(route)}
        try:
            path = reverse(f"admin:{pattern.name}", kwargs=args)
        except NoReverseMatch:
            failures.append(f"admin:{pattern.name}: cannot be built from {args}; extend _ADMIN_ARGS")
            continue
        for role in matrix.ROLES:
            response = _as(client, world, role, matrix.Entry({})).get(path)
            checked += 1
            try:
                _check(response, "admin-login", route, "GET", role)
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    assert checked > 100
    assert not failures, "\n".join(failures)

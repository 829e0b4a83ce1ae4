"""Building and sending the matrix's requests: fill a route from the world, authenticate as a role."""

import json

from django.db import transaction

from ..compat import signing
from . import matrix, urlwalk


def resolve(world, ref: str):
    if ref.startswith("="):
        return ref[1:]
    value = world
    for part in ref.split("."):
        value = getattr(value, part)
    return value


def path_for(world, route: str, entry: matrix.Entry) -> str:
    values = {name: resolve(world, entry.params.get(name) or matrix.PARAMS[name]) for name in urlwalk.parameters(route)}
    path = urlwalk.build_path(route, values)
    return f"{path}?{entry.query}" if entry.query else path


def as_role(client, world, role: str, entry: matrix.Entry):
    """The client logged in as `role` when the entry authenticates by session; logged out otherwise."""
    client.logout()
    if role != "anonymous" and entry.auth == "session":
        client.force_login(world.users[role])
    return client


def call(client, world, role: str, method: str, path: str, entry: matrix.Entry):
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


def rolled_back(call):
    """Run one request in a savepoint that is rolled back, so every caller sees the same world."""
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response

"""Counts and facets kept under the projection's version, so the same filter is not counted twice.

Paging, sorting, switching grid and table, going back: every explorer page asks again for the count and the facets
of the same filter, and at ten million items a compound filter's facet pass reads about two million index entries.
What only the typed projection decides (the workspace scope and conditions on declared fields) is kept in Django's
cache under the projection's **version** (`explorer.counts.version`: how many committed statements wrote the
projection, read in the reader's own snapshot before computing), the build's time, the schema's fingerprint and the
filter. Any committed write of an item's metadata moves the version, so a kept figure is only ever served to a reader
whose snapshot shows the same projection it was computed from: exact, like the count store. A scope (folder,
dataset, collection) or a built-in or undeclared condition reads other tables and is never kept. Registry and version
are read where the figures are (`db_router.read_connection`: a replica, when in use).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

from metadata_site.db_router import read_connection
from metadata_site.schemas.fields import Schema

from . import counts
from . import query as fl
from .models import Projection
from .projection import columns_for, fingerprint

TIMEOUT = 600  # seconds; a version moves on at every write, so old entries are only ever evicted


def cacheable(query: fl.Query) -> bool:
    """Whether the projection alone decides `query`: the whole workspace, declared fields only."""
    return query.scope.kind == "workspace" and not any(c.builtin or c.undeclared for c in (*query.all, *query.any))


def remember[T](kind: str, query: fl.Query, *, schema: Schema, workspace, compute: Callable[[], T],
                also: Callable[[T], dict[str, Any]] | None = None) -> T:
    """`compute()`, or what it returned for the same `kind` and filter at the same projection version. `also(value)`
    may name other kinds' values that the computation found on the way (the facet pass counts the result too): they
    are kept under the same version."""
    if connection.vendor != "postgresql" or not cacheable(query) or not len(schema):
        return compute()
    print_ = fingerprint(columns_for(schema))
    # The build's time too: a rebuilt projection (after a bulk import, say) counts its versions from 0 again.
    built = (Projection.objects.using(read_connection().alias)
             .filter(workspace_id=workspace.pk, ready=True, maintained=True, fingerprint=print_)
             .values_list("built_at", flat=True).first())
    version = counts.version(workspace.pk) if built else None  # before computing: a later write moves it on
    if version is None:
        return compute()

    def key(of: str) -> str:
        described = repr((of, query.all, query.any, print_, built.isoformat()))
        return f"msx:{workspace.pk}:{version}:{hashlib.sha256(described.encode()).hexdigest()}"

    kept = cache.get(key(kind))
    if kept is not None:
        return kept
    value = compute()
    cache.set(key(kind), value, TIMEOUT)
    for other, found in (also(value) if also else {}).items():
        if found is not None:
            cache.set(key(other), found, TIMEOUT)
    return value

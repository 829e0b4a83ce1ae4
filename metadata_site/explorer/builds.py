"""Queueing a build of a workspace's field indexes and typed projection, tracked by an `IndexBuild` row (shown on
the Tasks page, recovered like every background task). Callers never import ``tasks.py``: `queue_work` reaches
the receiver there."""

from __future__ import annotations

from metadata_site.lib.background import queue_work

from .models import IndexBuild


def index_build_queue(*, workspace_id: int, user=None) -> IndexBuild:
    """Queue a build of the workspace's field indexes and typed projection (with the caller's transaction)."""
    build = IndexBuild.objects.create(
        workspace_id=workspace_id, created_by=user if getattr(user, "is_authenticated", False) else None
    )
    queue_work(build)
    return build

"""Reads of the Info tab: revision history and the value of one version."""

from typing import Any

from .models import Dataset, InfoKind, InfoRevision, Project

HISTORY_LIMIT = 50


def info_owner_filter(obj: Project | Dataset) -> dict:
    return {"project": obj} if isinstance(obj, Project) else {"dataset": obj}


def info_revisions(obj: Project | Dataset, *, limit: int = HISTORY_LIMIT) -> list[InfoRevision]:
    """The latest revisions of all kinds, newest first."""
    return list(
        InfoRevision.objects.filter(**info_owner_filter(obj))
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def info_first_versions(obj: Project | Dataset) -> dict[str, InfoRevision]:
    """The first recorded revision of each kind: its `previous` is the value from before revisions began."""
    firsts: dict[str, InfoRevision] = {}
    for revision in InfoRevision.objects.filter(**info_owner_filter(obj)).order_by("kind", "version"):
        firsts.setdefault(revision.kind, revision)
    return firsts


def info_revision_value(obj: Project | Dataset, *, kind: str, version: int) -> Any:
    """The value `kind` had at `version`: a revision's value, or for the version before the first revision, that
    revision's `previous`. Raises LookupError when no such version is known."""
    if kind not in InfoKind.values:
        raise LookupError(kind)
    revisions = InfoRevision.objects.filter(**info_owner_filter(obj), kind=kind)
    revision = revisions.filter(version=version).first()
    if revision is not None:
        return revision.value
    first = revisions.order_by("version").first()
    if first is not None and first.version == version + 1:
        return first.previous
    raise LookupError(version)

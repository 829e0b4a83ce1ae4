"""Helpers of management commands that work on one workspace."""

from django.core.management.base import CommandError

from .models import Workspace


def command_workspace(slug: str) -> Workspace:
    """The workspace `slug` of a command's --workspace option; CommandError naming it when there is none."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise CommandError(f"No workspace {slug!r}")
    return workspace

"""Options the import commands share (not a command itself: its name starts with an underscore)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from metadata_site.workspaces.models import Workspace


def workspace_and_user(opts: dict):
    """The workspace named by ``--workspace`` and the user named by ``--user`` (None without it)."""
    workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
    if workspace is None:
        raise CommandError(f"No workspace {opts['workspace']!r}")
    user = None
    if opts["user"]:
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"No user {opts['user']!r}")
    return workspace, user

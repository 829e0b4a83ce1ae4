"""Build (or rebuild) the field indexes and the typed projection of a workspace now, in the foreground.

    manage.py explorer_indexes --workspace bench
    manage.py explorer_indexes --workspace bench --drop      # drop them all (for measurements)
    manage.py explorer_indexes --workspace bench --no-projection   # the indexes only
"""

import time

from django.core.management.base import BaseCommand

from metadata_site.explorer import projection
from metadata_site.explorer.indexes import ensure_field_indexes
from metadata_site.schemas.fields import Schema
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.commands import command_workspace


class Command(BaseCommand):
    help = "Build the explorer's field indexes of a workspace (what the background task does)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--drop", action="store_true", help="drop the workspace's field indexes and projection instead")
        parser.add_argument("--no-projection", action="store_true", help="leave the typed projection as it is")

    def handle(self, *args, workspace: str, drop: bool, no_projection: bool, **options):
        ws = command_workspace(workspace)
        schema = Schema(version=0) if drop else schema_current(workspace=ws)
        result = ensure_field_indexes(workspace_id=ws.pk, schema=schema)
        self.stdout.write(f"created {len(result['created'])}, dropped {len(result['dropped'])} indexes")
        if no_projection:
            return
        started = time.perf_counter()
        if drop:
            projection.drop(workspace_id=ws.pk)
            self.stdout.write("dropped the typed projection")
        else:
            outcome = projection.build(workspace_id=ws.pk, schema=schema)
            self.stdout.write(f"typed projection: {outcome} in {time.perf_counter() - started:.1f} s")

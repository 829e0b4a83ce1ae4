"""Export items with their metadata to a file (or stdout), with a terminal progress bar."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metadata_site.imports.exports import EXPORT_FORMATS, ExportError, export_chunks, export_queryset
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Export a workspace, folder, dataset or collection as JSON, JSONL or CSV (the metadata-rows import shape)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--folder", type=int)
        scope.add_argument("--dataset", type=int)
        scope.add_argument("--collection", type=int)
        parser.add_argument("--filter", "-f", action="append", default=[],
                            help="an explorer filter <field>:<op>:<value> (repeatable)")
        parser.add_argument("--format", default="jsonl", choices=EXPORT_FORMATS)
        parser.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {opts['workspace']!r}")
        params = {}
        for kind in ("folder", "dataset", "collection"):
            if opts[kind] is not None:
                params["scope"] = [f"{kind}:{opts[kind]}"]
        params["f"] = opts["filter"]
        try:
            queryset = export_queryset(workspace=workspace, params=params)
        except ExportError as exc:
            raise CommandError(exc.message) from None
        to_stdout = opts["output"] == "-"
        bar = tqdm(total=queryset.count(), unit="items", disable=opts["no_progress"] or to_stdout, file=sys.stderr)

        def on_rows(count: int) -> None:
            bar.update(count - bar.n)

        out = self.stdout if to_stdout else open(opts["output"], "w", encoding="utf-8", newline="")  # noqa: SIM115
        try:
            for chunk in export_chunks(queryset=queryset, fmt=opts["format"], schema=schema_current(workspace=workspace),
                                       on_rows=on_rows):
                out.write(chunk, ending="") if to_stdout else out.write(chunk)
        finally:
            bar.close()
            if not to_stdout:
                out.close()
        if not to_stdout:
            self.stderr.write(f"Exported {bar.n} items to {opts['output']}")

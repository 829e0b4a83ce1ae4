"""Import a file from the command line through the same pipeline as the web upload."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metadata_site.imports.management.commands._options import workspace_and_user
from metadata_site.imports.models import ApplyPolicy, ImportKind, ImportMode, ImportStatus, ImportTask
from metadata_site.imports.services import (
    ImportTaskError,
    error_report_path,
    import_task_create,
    import_task_run,
    import_task_upload_path,
)


class Command(BaseCommand):
    help = "Import metadata rows, field values or items from a JSON, JSONL or CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--folder", type=int)
        target.add_argument("--dataset", type=int)
        parser.add_argument("--kind", default=ImportKind.METADATA_ROWS,
                            choices=[ImportKind.METADATA_ROWS, ImportKind.FIELD_VALUES, ImportKind.DATA])
        parser.add_argument("--field", default="", help="field values: the field the values are for")
        parser.add_argument("--mode", default=ImportMode.MERGE, choices=ImportMode.values)
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, write nothing")
        parser.add_argument("--policy", default=ApplyPolicy.SKIP_BAD_ROWS, choices=ApplyPolicy.values)
        parser.add_argument("--format", choices=["json", "jsonl", "csv"], help="default: from the file name")
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument("--background", action="store_true", help="queue for the worker instead of running here")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        workspace, user = workspace_and_user(opts)
        target = {"folder": opts["folder"], "dataset": opts["dataset"], "field": opts["field"]}
        try:
            task = import_task_create(
                workspace=workspace, user=user, kind=opts["kind"], target=target, mode=opts["mode"],
                dry_run=opts["dry_run"], policy="" if opts["dry_run"] else opts["policy"],
            )
            import_task_upload_path(task=task, path=path, file_format=opts["format"], enqueue=opts["background"])
        except ImportTaskError as exc:
            raise CommandError(exc.message) from None
        if opts["background"]:
            self.stdout.write(f"Queued import task {task.pk} for the worker.")
            return
        bar = tqdm(total=100, unit="%", disable=opts["no_progress"], desc="checking", bar_format="{l_bar}{bar}| {n:.0f}%")

        def on_progress(t: ImportTask) -> None:
            bar.set_description("checking" if t.status == ImportStatus.VALIDATING else "applying")
            bar.n = t.progress
            bar.refresh()

        import_task_run(task_id=task.pk, on_progress=on_progress)
        bar.close()
        task.refresh_from_db()
        self._report(task)
        if task.status == ImportStatus.FAILED:
            raise CommandError(task.failure_reason)

    def _report(self, task: ImportTask) -> None:
        out = self.stdout
        out.write(f"Task {task.pk}: {task.get_status_display()}")
        if task.status == ImportStatus.VALIDATED:
            out.write(f"  rows: {task.total}, valid: {task.valid_rows}, with errors: {task.error_count}")
        else:
            out.write(f"  created: {task.inserted_rows}, changed: {task.updated_rows}, "
                      f"unchanged: {task.unchanged_rows}, with errors: {task.error_count}")
        for error in task.sample_errors[:10]:
            out.write(f"  row {error['row_index']}: {error['reason']}")
        if task.error_count:
            out.write(f"  full error report: {error_report_path(task)}")

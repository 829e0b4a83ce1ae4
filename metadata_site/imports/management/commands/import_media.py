"""Register every image and video of a server directory (a local disk, a NAS mount) as items of a folder."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metadata_site.imports.management.commands._options import workspace_and_user
from metadata_site.imports.media_import import MediaImportError, media_import_create, media_import_run
from metadata_site.imports.models import ImportStatus, ImportTask


class Command(BaseCommand):
    help = (
        "Register the images and videos under DIR as items of a folder (title = file name; an existing title is "
        "updated). Runs as a background import task with progress, restartable (manage.py resume_imports)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--folder", type=int, required=True, help="id of the folder the items go into")
        parser.add_argument("--recursive", action="store_true", help="also subdirectories (they become folders)")
        parser.add_argument("--link", action="store_true", help="keep the files where they are instead of copying them")
        parser.add_argument("--metadata", help="a metadata-rows file (JSON, JSONL, CSV) keyed by title or relative path")
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument("--background", action="store_true", help="leave the task to the worker instead of running here")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        workspace, user = workspace_and_user(opts)
        try:
            task = media_import_create(
                workspace=workspace, folder_id=opts["folder"], directory=opts["dir"], recursive=opts["recursive"],
                link=opts["link"], metadata=opts["metadata"], user=user, enqueue=opts["background"],
            )
        except MediaImportError as exc:
            raise CommandError(exc.message) from None
        if opts["background"]:
            self.stdout.write(f"Queued media import task {task.pk} for the worker.")
            return
        bar = tqdm(total=100, unit="%", disable=opts["no_progress"], desc="registering", bar_format="{l_bar}{bar}| {n:.0f}%")

        def on_progress(t: ImportTask) -> None:
            bar.n = t.progress
            bar.refresh()

        media_import_run(task_id=task.pk, on_progress=on_progress)
        bar.close()
        task.refresh_from_db()
        self.stdout.write(
            f"Task {task.pk}: {task.get_status_display()}: {task.total} files, {task.inserted_rows} new items, "
            f"{task.updated_rows} updated, {task.error_count} errors"
        )
        for error in task.sample_errors[:10]:
            self.stdout.write(f"  {error['reason']}")
        if task.status == ImportStatus.FAILED:
            raise CommandError(task.failure_reason)

"""Queue again the imports whose worker died mid-run; each continues from its last committed batch.

`make run` calls it before starting the worker (no worker is running then, so every task marked as
validating or running was orphaned). With workers running, `--stale-after` keeps it to tasks that have
not reported progress for that many seconds.
"""

from django.core.management.base import BaseCommand

from metadata_site.imports.services import import_task_resume, import_tasks_stale


class Command(BaseCommand):
    help = "Re-queue import tasks whose worker stopped (they resume from their last committed batch)."

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=float, default=0.0, help="seconds without progress (default 0)")

    def handle(self, *args, **opts):
        count = 0
        for task in import_tasks_stale(older_than_seconds=opts["stale_after"]):
            import_task_resume(task=task)
            count += 1
            self.stdout.write(f"Resumed import task {task.pk} ({task.get_status_display()}, row {task.committed_offset})")
        if opts["verbosity"] > 1 or count:
            self.stdout.write(f"{count} import task(s) resumed.")

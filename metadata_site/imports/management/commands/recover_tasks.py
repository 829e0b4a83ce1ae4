"""Queue again every background task whose worker died: imports (which resume from their last committed
batch), exports, explorer index and projection builds, collection and dataset builds, maintenance.

`make run` and `make worker` run it before starting the worker. It is safe while other workers run: a task
is requeued only when no process holds its liveness lock (see `metadata_site/imports/recovery.py`).
"""

from django.core.management.base import BaseCommand

from metadata_site.imports.recovery import CLAIM_GRACE_SECONDS, recover_tasks


class Command(BaseCommand):
    help = "Re-queue background tasks left RUNNING by a worker that died (every kind of task)."

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=float, default=CLAIM_GRACE_SECONDS,
                            help="seconds a just-claimed task is given to take its liveness lock")

    def handle(self, *args, **opts):
        recovered = recover_tasks(grace_seconds=opts["grace"])
        for r in recovered:
            self.stdout.write(f"{r.task_path} {r.task_id}: {r.what}")
        if opts["verbosity"] > 1 or recovered:
            self.stdout.write(f"{len(recovered)} task(s) queued again.")

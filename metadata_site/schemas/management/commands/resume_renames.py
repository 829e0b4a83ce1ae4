"""Queue again the field renames still moving values (their worker died); each goes on from its last
committed batch. Safe while a worker still runs one: each batch locks the rename's row and starts from its
`last_id`, so two runs never move an item twice. `make run` and `make worker` call it before the worker."""

from django.core.management.base import BaseCommand

from metadata_site.schemas.services import field_renames_resume


class Command(BaseCommand):
    help = "Re-queue field renames whose values are still moving (they resume from their last committed batch)."

    def handle(self, *args, **opts):
        renames = field_renames_resume()
        for rename in renames:
            self.stdout.write(f"Resumed rename {rename.old_name} → {rename.new_name} ({rename.done} of {rename.total})")
        if opts["verbosity"] > 1 or renames:
            self.stdout.write(f"{len(renames)} rename(s) resumed.")

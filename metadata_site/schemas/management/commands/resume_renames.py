"""The former name of `recover_tasks` for field renames, kept for scripts: renames are recovered with every other
kind of background task (a rename goes on from its last committed batch)."""

from metadata_site.imports.management.commands.recover_tasks import Command  # noqa: F401

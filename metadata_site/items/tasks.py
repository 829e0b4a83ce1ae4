"""Background work of items, run by `manage.py db_worker`."""

from django.tasks import task

from metadata_site.lib.maintenance import vacuum_analyze

from .models import ChangeSetEntry, Item

# An import that wrote fewer rows than this leaves the tables to autovacuum.
MAINTAIN_AFTER_ROWS = 10_000


@task()
def maintain_items() -> list[str]:
    """VACUUM (ANALYZE) the item and change-set entry tables after a bulk write (see lib.maintenance)."""
    return vacuum_analyze(Item, ChangeSetEntry)

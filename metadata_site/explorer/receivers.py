from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from metadata_site.schemas.signals import schema_changed

from . import projection
from .builds import index_build_queue
from .models import Projection


@receiver(schema_changed, dispatch_uid="explorer_build_field_indexes")
def _index_declared_fields(sender, *, workspace, schema=None, **kwargs) -> None:
    """A new schema version was committed: build its indexes and typed projection in the background."""
    index_build_queue(workspace_id=workspace.pk)


@receiver(post_delete, sender=Projection, dispatch_uid="explorer_drop_projection_table")
def _drop_projection_table(sender, *, instance: Projection, **kwargs) -> None:
    """A registry row went (its workspace was deleted): its table goes with it."""
    transaction.on_commit(partial(projection.drop_table, projection.table_name(instance.workspace_id)))

from django.dispatch import receiver

from metadata_site.schemas.signals import schema_changed

from .tasks import build_field_indexes


@receiver(schema_changed, dispatch_uid="explorer_build_field_indexes")
def _index_declared_fields(sender, *, workspace, schema=None, **kwargs) -> None:
    """A new schema version was committed: build its indexes in the background."""
    build_field_indexes.enqueue(workspace_id=workspace.pk)

"""Receivers of other apps' signals, connected in SchemasConfig.ready."""

from django.dispatch import receiver

from metadata_site.items.models import ChangeSet
from metadata_site.items.services import OPERATION_RENAME
from metadata_site.items.signals import change_set_undoing

from .services import field_rename_revert


@receiver(change_set_undoing, sender=ChangeSet, dispatch_uid="schemas.rename_revert")
def revert_rename(sender, *, change_set: ChangeSet, user, **kwargs) -> None:
    """The undo of a rename's change set renames the field and the saved filters back first (refused, with
    ChangeSetError, while values are still moving); the undo itself then moves the values back."""
    if change_set.operation == OPERATION_RENAME:
        field_rename_revert(change_set=change_set, user=user)

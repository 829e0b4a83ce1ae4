"""Background work of schemas: moving the values of a renamed field (progress in FieldRename).

The services queue it with `queue_work(rename)`; `_enqueue` below (connected when the app is ready) enqueues
the task, so the services never import this module."""

from django.dispatch import receiver
from django.tasks import task

from metadata_site.lib.background import work_queued

from .models import FieldRename
from .services import field_rename_run


@task()
def field_rename_task(*, rename_id: int) -> int:
    row = FieldRename.objects.get(pk=rename_id)
    try:
        return field_rename_run(rename=row).done
    except Exception as exc:
        row.mark_failed(str(exc))
        raise


@receiver(work_queued, sender=FieldRename, dispatch_uid="schemas.enqueue")
def _enqueue(sender, *, row: FieldRename, **kwargs):
    return field_rename_task.enqueue(rename_id=row.pk)

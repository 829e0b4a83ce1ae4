"""Background work of schemas: moving the values of a renamed field (progress in FieldRename)."""

from django.tasks import task
from django.utils import timezone

from .models import FieldRename, FieldRenameStatus


@task()
def field_rename_task(*, rename_id: int) -> int:
    from .services import field_rename_run

    row = FieldRename.objects.get(pk=rename_id)
    try:
        return field_rename_run(rename=row).done
    except Exception as exc:
        FieldRename.objects.filter(pk=rename_id).update(
            status=FieldRenameStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise

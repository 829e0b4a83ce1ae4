"""Background work of collections: large adds and dataset builds (progress in CollectionTask)."""

from django.tasks import task
from django.utils import timezone

from metadata_site.projects.models import Dataset

from .models import CollectionTask, CollectionTaskStatus


def _fail(task_row: CollectionTask, exc: Exception) -> None:
    CollectionTask.objects.filter(pk=task_row.pk).update(
        status=CollectionTaskStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
    )


@task()
def collection_add_items_task(*, task_id: int, item_ids: list[int] | None, filter_state: dict | None) -> int:
    from .services import collection_add_items_run

    row = CollectionTask.objects.select_related("collection__workspace").get(pk=task_id)
    try:
        return collection_add_items_run(task=row, item_ids=item_ids, filter_state=filter_state)
    except Exception as exc:
        _fail(row, exc)
        raise


@task()
def dataset_build_task(*, task_id: int, item_ids: list[int] | None = None) -> int:
    from .services import dataset_build_run

    row = CollectionTask.objects.select_related("dataset__workspace").get(pk=task_id)
    try:
        return dataset_build_run(task=row, item_ids=item_ids)
    except Exception as exc:
        _fail(row, exc)
        Dataset.objects.filter(pk=row.dataset_id).update(progress=0)
        raise

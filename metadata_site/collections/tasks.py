"""Background work of collections: large adds and dataset builds (progress in CollectionTask).

The services queue them with `queue_work(task_row, ...)`; `_enqueue` below (connected when the app is ready)
picks the task for the row's kind, so the services never import this module."""

from django.dispatch import receiver
from django.tasks import task

from metadata_site.lib.background import work_queued
from metadata_site.projects.models import Dataset

from .models import CollectionTask, CollectionTaskKind
from .services import collection_add_items_run, dataset_build_run


@task()
def collection_add_items_task(*, task_id: int, item_ids: list[int] | None, filter_state: dict | None) -> int:
    row = CollectionTask.objects.select_related("collection__workspace").get(pk=task_id)
    try:
        return collection_add_items_run(task=row, item_ids=item_ids, filter_state=filter_state)
    except Exception as exc:
        row.mark_failed(str(exc))
        raise


@task()
def dataset_build_task(*, task_id: int, item_ids: list[int] | None = None) -> int:
    row = CollectionTask.objects.select_related("dataset__workspace").get(pk=task_id)
    try:
        return dataset_build_run(task=row, item_ids=item_ids)
    except Exception as exc:
        row.mark_failed(str(exc))
        Dataset.objects.filter(pk=row.dataset_id).update(progress=0)
        raise


@receiver(work_queued, sender=CollectionTask, dispatch_uid="collections.enqueue")
def _enqueue(sender, *, row: CollectionTask, item_ids: list[int] | None = None, filter_state: dict | None = None,
             **kwargs):
    if row.kind == CollectionTaskKind.CREATE_DATASET:
        return dataset_build_task.enqueue(task_id=row.pk, item_ids=item_ids)
    return collection_add_items_task.enqueue(task_id=row.pk, item_ids=item_ids, filter_state=filter_state)

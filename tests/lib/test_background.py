import pytest
from django.core.exceptions import ImproperlyConfigured

from metadata_site.collections.models import CollectionTask
from metadata_site.imports.models import ImportTask
from metadata_site.lib.background import queue_work, work_queued
from metadata_site.schemas.models import FieldRename
from metadata_site.workspaces.models import Workspace


def test_every_model_that_tracks_background_work_has_its_tasks_receiver_connected_at_startup():
    for model in (CollectionTask, ImportTask, FieldRename):
        assert work_queued.has_listeners(model), model.__name__


def test_queueing_work_for_a_row_no_task_is_connected_to_fails_loudly_instead_of_dropping_it():
    with pytest.raises(ImproperlyConfigured, match="No task is connected to work_queued for Workspace"):
        queue_work(Workspace(name="w"))


from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "metadata_site.imports"
    label = "imports"

    def ready(self) -> None:
        from django.tasks.signals import task_finished, task_started

        from . import tasks  # noqa: F401 - connects the receiver that enqueues the services' background work
        from .recovery import on_task_finished, on_task_started

        task_started.connect(on_task_started, dispatch_uid="imports.task_liveness_started")
        task_finished.connect(on_task_finished, dispatch_uid="imports.task_liveness_finished")

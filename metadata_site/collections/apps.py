from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "metadata_site.collections"
    label = "collections"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 - connects the receiver that enqueues the services' background work

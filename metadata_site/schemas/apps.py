from django.apps import AppConfig


class SchemasConfig(AppConfig):
    name = "metadata_site.schemas"
    label = "schemas"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 - connects the receiver that enqueues the services' background work

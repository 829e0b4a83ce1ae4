from django.apps import AppConfig


class SchemasConfig(AppConfig):
    name = "metadata_site.schemas"
    label = "schemas"

    def ready(self) -> None:
        from . import receivers, tasks  # noqa: F401 - connect the undo of renames and the enqueueing of background work

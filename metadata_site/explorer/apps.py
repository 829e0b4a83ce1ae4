from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    name = "metadata_site.explorer"
    label = "explorer"

    def ready(self) -> None:
        from . import (
            receivers,  # noqa: F401 - connects the schema_changed receiver
            tasks,  # noqa: F401 - connects the receiver that enqueues index builds
        )

from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "metadata_site.items"
    label = "items"

    def ready(self) -> None:
        from metadata_site.lib import lookups  # noqa: F401 (registers `field__in_array` on every field)

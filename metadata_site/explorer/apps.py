from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    name = "metadata_site.explorer"
    label = "explorer"

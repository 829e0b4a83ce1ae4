from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "metadata_site.imports"
    label = "imports"

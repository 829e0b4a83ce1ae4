from django.apps import AppConfig


class SchemasConfig(AppConfig):
    name = "metadata_site.schemas"
    label = "schemas"

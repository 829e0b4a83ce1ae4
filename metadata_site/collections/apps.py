from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "metadata_site.collections"
    label = "collections"

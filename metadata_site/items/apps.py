from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "metadata_site.items"
    label = "items"

from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "metadata_site.compat"
    label = "compat"

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "metadata_site.api"
    label = "api"

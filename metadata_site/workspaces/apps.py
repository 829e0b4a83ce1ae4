from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "metadata_site.workspaces"
    label = "workspaces"

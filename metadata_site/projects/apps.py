from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "metadata_site.projects"
    label = "projects"

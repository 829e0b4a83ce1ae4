from django.urls import path

from . import views

app_name = "projects"
urlpatterns = [
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/info/", views.project_info, name="project-info"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/info/", views.dataset_info, name="dataset-info"),
    path("folders/<int:pk>/", views.folder_detail, name="folder"),
]

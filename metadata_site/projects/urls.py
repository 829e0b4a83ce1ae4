from django.urls import path

from . import info_views, views

app_name = "projects"
urlpatterns = [
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/info/", info_views.project_info, name="project-info"),
    path("projects/<int:pk>/info/schema/", info_views.info_schema_save, name="project-info-schema"),
    path("projects/<int:pk>/datasets/attach/", views.project_attach_dataset_view, name="project-attach-dataset"),
    path(
        "projects/<int:pk>/datasets/<int:dataset_pk>/detach/",
        views.project_detach_dataset_view,
        name="project-detach-dataset",
    ),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/info/", info_views.dataset_info, name="dataset-info"),
    path("folders/<int:pk>/", views.folder_detail, name="folder"),
]

# The Info tab's writes and history, the same views for projects and datasets.
for owner, prefix in (("project", "projects"), ("dataset", "datasets")):
    urlpatterns += [
        path(
            f"{prefix}/<int:pk>/info/readme/",
            info_views.info_readme_save,
            {"owner": owner},
            name=f"{owner}-info-readme",
        ),
        path(
            f"{prefix}/<int:pk>/info/readme/preview/",
            info_views.info_readme_preview,
            {"owner": owner},
            name=f"{owner}-info-readme-preview",
        ),
        path(
            f"{prefix}/<int:pk>/info/custom-data/",
            info_views.info_custom_data_save,
            {"owner": owner},
            name=f"{owner}-info-custom-data",
        ),
        path(
            f"{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/",
            info_views.info_revision_diff,
            {"owner": owner},
            name=f"{owner}-info-diff",
        ),
        path(
            f"{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/restore/",
            info_views.info_revision_restore,
            {"owner": owner},
            name=f"{owner}-info-restore",
        ),
    ]

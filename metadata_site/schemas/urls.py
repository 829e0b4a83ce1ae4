from django.urls import path

from . import views

app_name = "schemas"
urlpatterns = [
    path("schema/", views.schema_page, name="schema"),
    path("schema/declare/", views.schema_declare, name="declare"),
    path("schema/drop/", views.schema_drop, name="drop"),
    path("schema/import/", views.schema_import_page, name="import"),
    path("schema/download/", views.schema_download, name="download"),
    path("schema/infer/", views.schema_infer_page, name="infer"),
    path("schema/change/", views.schema_field_change, name="change-field"),
    path("schema/rename/", views.schema_rename_page, name="rename"),
    path("schema/renames/<int:pk>/", views.schema_rename_status, name="rename-status"),
    path("schema/versions/<int:version>/", views.schema_version, name="version"),
]

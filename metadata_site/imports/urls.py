from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("tasks/new/", views.task_new, name="new"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/apply/", views.task_apply, name="apply"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="cancel"),
    path("tasks/<int:pk>/undo/", views.task_undo, name="undo"),
    path("tasks/<int:pk>/errors.csv", views.task_error_report, name="errors"),
    path("tasks/<int:pk>/download/", views.task_download, name="download"),
    path("export/", views.export, name="export"),
]

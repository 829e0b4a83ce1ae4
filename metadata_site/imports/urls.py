from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("tasks/", views.task_list, name="list"),
]

from django.urls import path

from . import views

app_name = "workspaces"
urlpatterns = [
    path("", views.index, name="index"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("w/<slug:slug>/", views.home, name="home"),
    path("w/<slug:slug>/tasks/", views.tasks, name="tasks"),
]

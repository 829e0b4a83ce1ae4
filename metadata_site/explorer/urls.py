from django.urls import path

from . import views

app_name = "explorer"
urlpatterns = [
    path("explore/", views.explore, name="explore"),
    path("explore/count/", views.explore_count, name="count"),
    path("explore/facets/", views.explore_facets, name="facets"),
    path("explore/undeclared/", views.explore_undeclared, name="undeclared"),
    path("explore/selection/", views.selection, name="selection"),
]
